package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Poll calls check every interval until it reports done. check's error
// while not done is the reason it is not done yet, kept for the error Poll
// returns when ctx ends; done with an error stops Poll with that error at
// once, for a state that can no longer turn out well.
func Poll(ctx context.Context, every time.Duration, check func(ctx context.Context) (done bool, err error)) error {
	for {
		done, err := check(ctx)
		if done {
			return err
		}
		select {
		case <-ctx.Done():
			if err == nil {
				return ctx.Err()
			}
			return errors.Join(ctx.Err(), err)
		case <-time.After(every):
		}
	}
}

// WaitHTTP polls url until it answers 200 or ctx ends.
func WaitHTTP(ctx context.Context, url string) error {
	err := Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		return checkHTTP(url)
	})
	if err != nil {
		return fmt.Errorf("wait for %s: %w", url, err)
	}
	return nil
}

// checkHTTP reports whether url answers 200.
func checkHTTP(url string) (bool, error) {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	return true, nil
}

// WaitListening polls until something accepts TCP connections at addr.
func WaitListening(ctx context.Context, addr string) error {
	err := Poll(ctx, 50*time.Millisecond, func(context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false, err
		}
		conn.Close()
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("nothing listens on %s: %w", addr, err)
	}
	return nil
}

// FreePort returns a loopback TCP port free right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
