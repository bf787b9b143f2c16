package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds how much of an HTTP response body is read and reported.
const maxBody = 64 << 10

// HTTP sends one GET request to target and succeeds when the server answers
// with a 2xx status. Redirects are not followed, no proxy is used and the
// connection is not reused, so each call measures the path to target itself.
// Detail holds the response body, trimmed of surrounding white space.
func HTTP(ctx context.Context, target string) Result {
	res := newResult(KindHTTP, target)
	start := time.Now()
	body, err := httpGet(ctx, target)
	return res.finish(start, body, err)
}

// httpGet performs the request behind HTTP and returns the body.
func httpGet(ctx context.Context, target string) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "netcert-probe")
	transport := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	body := strings.TrimSpace(string(raw))
	if err != nil {
		return body, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return body, fmt.Errorf("unexpected status %q", resp.Status)
	}
	return body, nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the method
// and URL that the caller already reports.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
