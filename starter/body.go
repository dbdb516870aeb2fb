package main

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/refundflow/refundflow/internal/pci"
)

// maxBodyBytes is the contract's limit on a request body.
const maxBodyBytes = 64 << 10

// readScreenedBody returns the request body once it has passed, in order,
// the content type (415), the size limit (413) and the cardholder-data
// screen (422). On failure it has answered and returns false.
//
// The screen runs on the raw bytes before anything decodes them, so a body
// carrying a card number is never decoded, logged, stored or passed on: the
// bytes are dropped here and the answer names no value.
func readScreenedBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return nil, false
	}
	if r.ContentLength > maxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "body larger than 64 KiB")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than 64 KiB")
			return nil, false
		}
		writeBadRequest(w, "could not read the request body", nil)
		return nil, false
	}
	if pci.ContainsCardholderData(body) {
		clear(body)
		noteCardDataRejected(r.Context())
		writeError(w, http.StatusUnprocessableEntity, "cardholder data rejected")
		return nil, false
	}
	return body, true
}
