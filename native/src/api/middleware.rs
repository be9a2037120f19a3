//! What runs around every route, as one tower layer ([`Around`]) rather than a stack of them:
//! each layer in a stack costs a boxed service clone and a boxed future per request, and that
//! was most of the API's cost over a bare hyper server. In order, for each request:
//!
//! 1. an HTTP/1.1 request without `Host`, or with raw non-ASCII bytes in its target, is
//!    answered before any route runs ([`super::framing`]);
//! 2. the route runs with the request named for the panic hook; a panic becomes a 500
//!    `internal_error` (logged once, by the hook, with the request's method and path);
//! 3. once draining, the answer closes its connection ([`super::ready`]); a panic's 500 does
//!    not (as before: the panic was caught outside that step);
//! 4. `Cache-Control: no-store` on every answer that does not set its own;
//! 5. with the request log on (only when serving: [`crate::prepare`]), one line once the
//!    response head is ready ([`crate::serve::log`]).

use std::convert::Infallible;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::error::{AppError, ErrorCode};
use crate::serve::log::{self, Client, ClientPolicy, RequestName};

/// The layer: what [`super::router`] (no request log) and a serving server (with it) put
/// around the routes. Cheap to clone.
#[derive(Clone)]
pub struct Around(Arc<Settings>);

struct Settings {
    /// The server's drain flag ([`super::AppState::draining`]).
    draining: Arc<AtomicBool>,
    /// Who the request log names, when there is a request log.
    log: Option<ClientPolicy>,
}

impl Around {
    /// Around routes whose drain flag is `draining`; `log` when serving with a request log
    /// (its `access_log` off: no lines, but a panic still names its request).
    pub fn new(draining: Arc<AtomicBool>, log: Option<ClientPolicy>) -> Self {
        Self(Arc::new(Settings { draining, log }))
    }
}

impl<S> Layer<S> for Around {
    type Service = AroundService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AroundService {
            inner,
            settings: Arc::clone(&self.0),
        }
    }
}

/// A route with [`Around`] applied.
#[derive(Clone)]
pub struct AroundService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> Service<Request> for AroundService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AroundFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let name = RequestName::of(&request);
        let client = match &self.settings.log {
            Some(policy) if policy.access_log => Some(log::client_of(&request, policy)),
            _ => None,
        };
        let step = match super::framing::refusal(&request) {
            Some(answer) => {
                Step::Answered(Some(close_when_draining(answer, &self.settings.draining)))
            }
            // Building the route's future runs no handler code yet; it is polled below.
            None => match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
                Ok(future) => Step::Route(future),
                Err(_) => Step::Answered(Some(panic_to_500())),
            },
        };
        AroundFuture {
            step,
            name: Some(name),
            client,
            started,
            settings: Arc::clone(&self.settings),
        }
    }
}

/// The answer of [`AroundService`].
pub struct AroundFuture<F> {
    step: Step<F>,
    /// Swapped into the thread while the route is polled (see [`log::serving`]).
    name: Option<RequestName>,
    /// Who to name in the request line; none when nothing is logged.
    client: Option<Client>,
    started: Instant,
    settings: Arc<Settings>,
}

enum Step<F> {
    /// Answered without the route (already closing when draining), or building the route's
    /// future panicked; taken once polled.
    Answered(Option<Response>),
    /// The route is running.
    Route(F),
}

impl<F> Future for AroundFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut response = match &mut this.step {
            Step::Route(future) => {
                let polled = log::serving(&mut this.name, || {
                    catch_unwind(AssertUnwindSafe(|| Pin::new(future).poll(cx)))
                });
                match polled {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(Ok(response))) => {
                        this.step = Step::Answered(None);
                        close_when_draining(response, &this.settings.draining)
                    }
                    Ok(Poll::Ready(Err(never))) => match never {},
                    // The panic hook has logged it, naming the request.
                    Err(_) => {
                        this.step = Step::Answered(None);
                        panic_to_500()
                    }
                }
            }
            Step::Answered(answer) => match answer.take() {
                Some(response) => response,
                // Polled again after it was ready: a caller's bug; answer nothing new.
                None => return Poll::Pending,
            },
        };
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        if let (Some(client), Some(name)) = (this.client.take(), this.name.as_ref()) {
            log::log_request(
                &client,
                name,
                response.status().as_u16(),
                this.started.elapsed(),
            );
        }
        Poll::Ready(Ok(response))
    }
}

/// Once draining, every response closes its connection (as the fallback does), so a
/// keep-alive client opens its next connection elsewhere instead of reusing one the server is
/// about to close.
fn close_when_draining(mut response: Response, draining: &AtomicBool) -> Response {
    if draining.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A panic in a handler answers a 500 (the panic hook has logged it with its route).
fn panic_to_500() -> Response {
    AppError::new(ErrorCode::InternalError).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    use super::*;
    use crate::api::tests::{config, get};
    use crate::api::{endpoints, AppState};

    fn headers_of(response: &Response) -> (Option<&str>, Option<&str>) {
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        (header(header::CACHE_CONTROL), header(header::CONNECTION))
    }

    #[tokio::test]
    async fn adds_no_store_and_closes_once_draining_but_not_after_a_panic() {
        let state = AppState::for_tests(config());
        let draining = Arc::clone(&state.draining);
        let app = endpoints(state).layer(Around::new(Arc::clone(&draining), None));
        let answer = |uri: &str| app.clone().oneshot(get(uri));

        let ok = answer("/health").await.expect("infallible");
        assert_eq!(headers_of(&ok), (Some("no-store"), None));
        let own = answer("/__test/cached").await.expect("infallible");
        assert_eq!(headers_of(&own), (Some("max-age=60"), None));

        draining.store(true, Ordering::Release);
        let closing = answer("/health").await.expect("infallible");
        assert_eq!(headers_of(&closing), (Some("no-store"), Some("close")));
        let hostless = Request::get("/health")
            .body(Body::empty())
            .expect("request");
        let refused = app.clone().oneshot(hostless).await.expect("infallible");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(headers_of(&refused), (Some("no-store"), Some("close")));
        let panicked = answer("/__test/panic").await.expect("infallible");
        assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(headers_of(&panicked), (Some("no-store"), None));
    }

    #[test]
    fn names_the_request_while_it_is_polled_and_gives_the_name_back() {
        let request = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");
        let mut outer = Some(RequestName::of(&request("/a?x=1")));
        let mut inner = Some(RequestName::of(&request("/b")));
        let seen = log::serving(&mut outer, || {
            let nested = log::serving(&mut inner, log::serving_now);
            (nested, log::serving_now())
        });
        assert_eq!(seen, (Some("GET /b".to_owned()), Some("GET /a".to_owned())));
        assert_eq!(log::serving_now(), None);
        assert!(outer.is_some() && inner.is_some());
    }
}
