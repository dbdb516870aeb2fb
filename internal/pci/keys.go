package pci

import (
	"strings"
	"unicode"
)

// cardDataNames are key names, lower case with word breaks removed, that
// ask for a card number or a card security code. A key is flagged when one
// of its words, or several consecutive words joined, is one of these:
// "cvv", "card_cvc", "cardNumber", "CCNumber", "credit-card-type",
// "primaryAccountNumber", "PAN". Matching whole words is what keeps
// "company", "panel", "span" and "expand" clean.
var cardDataNames = map[string]bool{
	"cvv": true, "cvv2": true, "cvc": true, "cvc2": true, "ccv": true,
	"cvn": true, "cvn2": true, "cvd": true, "cav2": true, "csc": true,
	"pan": true, "pannumber": true, "primaryaccountnumber": true,
	"cardnumber": true, "cardnum": true, "cardno": true, "cardnbr": true,
	"ccnumber": true, "ccnum": true, "ccno": true,
	"creditcard": true, "creditcardnumber": true,
	"securitycode": true, "cardsecuritycode": true,
	"cardverification": true, "cardverificationvalue": true, "cardverificationcode": true,
}

// wholeKeyNames are flagged only as the entire key: "cid" (the Amex code)
// is too common a suffix ("conversationCid") to be matched as a word.
var wholeKeyNames = map[string]bool{"cid": true}

// IsCardDataKey reports whether a JSON key looks like a field meant for a
// card number or security code, whatever its case or separators.
func IsCardDataKey(key string) bool {
	words := keyWords(key)
	if len(words) == 0 {
		return false
	}
	if wholeKeyNames[strings.Join(words, "")] {
		return true
	}
	for i := range words {
		joined := ""
		for j := i; j < len(words); j++ {
			joined += words[j]
			if len(joined) > len("cardverificationvalue") {
				break
			}
			if cardDataNames[joined] {
				return true
			}
		}
	}
	return false
}

// keyWords splits a key into lower-case words at separators and camel-case
// boundaries: "creditCardNumber" -> credit card number, "CCNumber" -> cc
// number, "card_CVV2" -> card cvv2. Digits stay with the word before them.
func keyWords(key string) []string {
	rs := []rune(key)
	var words []string
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, c := range rs {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(c) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush(i)
			start = i
		case unicode.IsUpper(c) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return words
}
