package maptypes

// RetryError is a temporary failure whose text is what Postfix prints
// after "query error: ".
type RetryError struct{ Text string }

func (e *RetryError) Error() string { return e.Text }

// Unwrap makes errors.Is(err, ErrRetry) hold.
func (e *RetryError) Unwrap() error { return ErrRetry }

func retryf(text string) error { return &RetryError{Text: text} }
