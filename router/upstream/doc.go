// Package upstream calls the models that routing targets: OpenAI-compatible
// endpoints (the request body passes through with only its model
// replaced; http:// ones over the package's own HTTP/1.1 client, see
// h1Client, https:// ones over net/http), and Anthropic and Ollama through
// langchaingo. A model may have several deployments, balanced by weight, fewest requests in flight or
// latency; each deployment has a circuit breaker. A call retries on 429,
// 5xx, timeouts and connection errors: first, at once, on a deployment of
// the model that has not failed in this call, then on one that has, with
// exponential backoff and jitter (honouring Retry-After); then it falls
// back to the next model of the target's tier. A stream that fails before its first byte falls back the
// same way; one that fails after it cannot be taken back, and the caller
// ends it with an error event (Stream.Started says which). A call whose
// caller gives up (its context done, not the call's own timeout) is
// KindCanceled: neither a success nor a failure of the deployment.
//
// Every answer has a Usage: the upstream's (a stream to an
// OpenAI-compatible upstream always asks for it, and passes the usage chunk
// on only if the client asked), else an estimate (see estimate).
//
// Pool.Complete is Call in plain types, for consumers that keep their own
// small interface (rag.Completer, expand.Completer) instead of importing
// this package.
package upstream
