//! The client, its builder, and the request builder.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use canon_retry::{
    AttemptContext, BudgetConfig, BudgetRegistry, Call, Policy, PolicyError, Retrier, SplitMix64, is_idempotent_method,
};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use reqwest::{IntoUrl, Request, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::budget_cache::BudgetCache;
use crate::engine::{self, Head, Read, Sending, Whole};
use crate::error::Error;
use crate::report::AttemptReport;
use crate::timer::Timers;
use crate::url_text::UrlText;

/// The default header for idempotency keys, as the IETF draft "The
/// Idempotency-Key HTTP Header Field" spells it.
pub const DEFAULT_IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The default limit on the bytes of an error body kept and decoded: 64 KiB.
pub const DEFAULT_MAX_ERROR_BODY: usize = 64 * 1024;

type Observer = Arc<dyn Fn(&AttemptReport) + Send + Sync>;

/// What every request of a client shares.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) retrier: Retrier,
    /// The time limit of a request's first attempt (see
    /// [`engine::first_timeout`]), worked out once.
    pub(crate) first_timeout: Duration,
    /// The same policy with one attempt, for requests whose body is a
    /// stream and cannot be sent twice.
    one_shot: Retrier,
    pub(crate) budgets: Option<Arc<BudgetRegistry>>,
    /// The budgets of the hosts met so far.
    pub(crate) budget_cache: BudgetCache,
    rng: Mutex<SplitMix64>,
    pub(crate) idempotency_header: HeaderName,
    generate_keys: bool,
    pub(crate) max_error_body: usize,
    pub(crate) on_attempt: Option<Observer>,
    /// The timers of finished attempts, for the next ones.
    pub(crate) timers: Timers,
}

impl Shared {
    /// The random source the budgets' fractional tokens are drawn from.
    pub(crate) fn rng(&self) -> MutexGuard<'_, SplitMix64> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An HTTP client that decodes every error body into a [`canon::Status`]
/// and retries by the server's hints. See the [crate docs](crate).
///
/// Cheap to clone: clones share the connection pool, the policy, the
/// budgets and the observer.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("policy", self.policy())
            .field("budgets", &self.shared.budgets)
            .field("idempotency_header", &self.shared.idempotency_header)
            .field("generate_keys", &self.shared.generate_keys)
            .field("max_error_body", &self.shared.max_error_body)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// A client with canon's default policy ([`Policy::default()`]), a
    /// budget per host with the default configuration, and a new reqwest
    /// client.
    pub fn new() -> Client {
        Client::builder().build().expect("the default configuration is valid")
    }

    /// A builder, to choose the policy, budget, headers and limits.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The reqwest client requests are sent with.
    pub fn http(&self) -> &reqwest::Client {
        &self.shared.http
    }

    /// The retry policy.
    pub fn policy(&self) -> &Policy {
        self.shared.retrier.policy()
    }

    /// The budgets, one per host, if retries have budgets.
    pub fn budgets(&self) -> Option<&Arc<BudgetRegistry>> {
        self.shared.budgets.as_ref()
    }

    /// The header idempotency keys are sent in.
    pub fn idempotency_header(&self) -> &HeaderName {
        &self.shared.idempotency_header
    }

    /// A request to `url`. An unparsable URL fails when the request is sent,
    /// with [`ErrorKind::Request`](crate::ErrorKind::Request).
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method: method.clone(),
            inner: self.shared.http.request(method, url),
            key: KeyChoice::Default,
        }
    }

    /// A GET request.
    pub fn get<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request: retried only with an idempotency key.
    pub fn post<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request: retried only with an idempotency key.
    pub fn patch<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    pub fn delete<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A HEAD request.
    pub fn head<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Sends a reqwest request, with retries; like
    /// [`reqwest::Client::execute`]. An idempotency key in the request's
    /// idempotency header makes it retryable whatever its method.
    pub fn execute(&self, request: Request) -> impl Future<Output = Result<Response, Error>> + Send + 'static {
        run_request::<Head>(Arc::clone(&self.shared), request, KeyChoice::Default)
    }

    /// Sends one logical request whose attempts `build` makes, each for its
    /// [`AttemptContext`]: its number, its idempotency key (which the
    /// client also puts in its header) and its
    /// [`placement`](canon_retry::Placement). This is the hook for
    /// capacity errors: when a region or flavor has no capacity, the next
    /// attempt's context names the next placement (one the error named, or
    /// the next of `call`'s), and `build` aims the request there.
    ///
    /// `call` says the method (which decides idempotency with the key) and
    /// the placements; its method should be the one `build` uses.
    ///
    /// ```
    /// use canon_reqwest::{Call, Client, Placement};
    /// use http::Method;
    ///
    /// # async fn create(client: Client) -> Result<(), canon_reqwest::Error> {
    /// let http = client.http().clone();
    /// let call = Call::new(Method::POST)
    ///     .with_idempotency_key("vm-7f3a")
    ///     .with_placements([Placement::new().with_region("gb-1"), Placement::new().with_region("se-1")]);
    /// let response = client
    ///     .send_with(call, |attempt| {
    ///         let region = attempt.placement.as_ref().and_then(|p| p.region.as_deref()).unwrap_or("gb-1");
    ///         http.post(format!("https://api.example.com/v1/regions/{region}/vms")).body(r#"{"name":"vm-1"}"#)
    ///     })
    ///     .await?;
    /// # let _ = response; Ok(()) }
    /// ```
    pub async fn send_with<F>(&self, call: Call, mut build: F) -> Result<Response, Error>
    where
        F: FnMut(&AttemptContext) -> reqwest::RequestBuilder,
    {
        let run = engine::run::<Head, _>(&self.shared, &self.shared.retrier, call, None, None, |c| build(c).build());
        Box::pin(run).await
    }

    /// [`send_with`](Client::send_with), reading the whole body of a
    /// success inside the attempt, so that a body cut short is retried.
    pub async fn send_buffered_with<F>(&self, call: Call, mut build: F) -> Result<BufferedResponse, Error>
    where
        F: FnMut(&AttemptContext) -> reqwest::RequestBuilder,
    {
        let run = engine::run::<Whole, _>(&self.shared, &self.shared.retrier, call, None, None, |c| build(c).build());
        Box::pin(run).await
    }
}

/// The logical request `request` describes: attempt 1 handed to reqwest at
/// once when it needs no context, else the engine's loop, boxed.
#[inline(always)]
fn run_request<R: Read>(shared: Arc<Shared>, mut request: Request, key: KeyChoice) -> Sending<R, impl Sent> {
    // Most requests have no header of their own: no lookup for those.
    let header_key = match request.headers().is_empty() {
        true => None,
        false => request
            .headers()
            .get(&shared.idempotency_header)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    };
    // The key, when the caller has one; generating one needs a session.
    let (key, generated) = match (key, header_key) {
        (KeyChoice::Given(key), _) | (_, Some(key)) => (Some(key), false),
        (KeyChoice::Generate, None) => (None, true),
        (KeyChoice::Default, None) => (None, shared.generate_keys && !is_idempotent_method(request.method())),
    };
    if let Some(value) = key.as_deref().and_then(|key| HeaderValue::from_str(key).ok()) {
        request.headers_mut().insert(shared.idempotency_header.clone(), value);
    }
    match Template::new(&request) {
        // Attempt 1 needs the session's key: the engine's loop makes it
        // from the template.
        Some(template) if generated => Sending::engine(Box::pin(async move {
            let shared = &*shared;
            let url = request.url().clone();
            let call = Call::new(template.method.clone()).with_generated_key();
            let build = |_: &AttemptContext| Ok(template.request());
            engine::run::<R, _>(shared, &shared.retrier, call, None, Some(&url), build).await
        })),
        // Attempt 1 needs no context: it is the request itself, handed to
        // reqwest at once, as reqwest's own `send` does. Its host's budget
        // is found now, while the request's URL is at hand.
        Some(template) => {
            let budget =
                shared.budgets.as_ref().map(|registry| shared.budget_cache.host_budget(registry, request.url()));
            let sent = shared.http.execute(request);
            Sending::first(shared, key, sent, template, budget)
        }
        // A body that is a stream can be sent only once.
        None => Sending::engine(Box::pin(async move {
            let shared = &*shared;
            let call = match generated {
                true => Call::new(request.method().clone()).with_generated_key(),
                false => engine::call(request.method().clone(), key),
            };
            let mut request = Some(request);
            let build = |_: &AttemptContext| Ok(request.take().expect("the one-shot policy allows one attempt"));
            engine::run::<R, _>(shared, &shared.one_shot, call, None, None, build).await
        })),
    }
}

/// reqwest's future of a request handed to it.
trait Sent: Future<Output = reqwest::Result<Response>> + Unpin + Send + 'static {}

impl<F: Future<Output = reqwest::Result<Response>> + Unpin + Send + 'static> Sent for F {}

/// A request that can be sent again: its parts, with the body as bytes and
/// the URL as text (see [`UrlText`]).
///
/// Not reqwest's `Request::try_clone`, which puts an entry into the
/// request's extensions on every copy, and copies the URL into a new
/// allocation, costs the success path does not need to pay.
///
/// The parts most requests leave as they are (headers, version, timeout,
/// body) sit behind one box, made only for a request that sets one of
/// them: the template lives inside the request's future, which is moved
/// several times before its first poll, and a request without them (a
/// plain GET) then moves 56 bytes instead of 200.
pub(crate) struct Template {
    pub(crate) method: Method,
    pub(crate) url: UrlText,
    rest: Option<Box<TemplateRest>>,
}

/// The parts of a [`Template`] that most requests leave as they are.
struct TemplateRest {
    /// `None` for none: an empty map costs more to make and drop.
    headers: Option<HeaderMap>,
    version: Version,
    timeout: Option<Duration>,
    body: Option<Bytes>,
}

impl Template {
    /// A copy of `request`, or `None` when its body is a stream.
    fn new(request: &Request) -> Option<Template> {
        let body = match request.body() {
            None => None,
            Some(body) => Some(Bytes::copy_from_slice(body.as_bytes()?)),
        };
        let headers = (!request.headers().is_empty()).then(|| request.headers().clone());
        let (version, timeout) = (request.version(), request.timeout().copied());
        let rest = (headers.is_some() || body.is_some() || timeout.is_some() || version != Version::default())
            .then(|| Box::new(TemplateRest { headers, version, timeout, body }));
        Some(Template { method: request.method().clone(), url: UrlText::new(request.url()), rest })
    }

    /// A request from the template.
    pub(crate) fn request(&self) -> Request {
        let mut request = Request::new(self.method.clone(), self.url.to_url());
        if let Some(rest) = &self.rest {
            if let Some(headers) = &rest.headers {
                *request.headers_mut() = headers.clone();
            }
            *request.version_mut() = rest.version;
            if let Some(timeout) = rest.timeout {
                *request.timeout_mut() = Some(timeout);
            }
            if let Some(body) = &rest.body {
                *request.body_mut() = Some(reqwest::Body::from(body.clone()));
            }
        }
        request
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    http: Option<reqwest::Client>,
    policy: Policy,
    deadline: Option<Duration>,
    attempt_timeout: Option<Duration>,
    budgets: Option<Arc<BudgetRegistry>>,
    idempotency_header: HeaderName,
    generate_keys: bool,
    max_error_body: usize,
    seed: Option<u64>,
    on_attempt: Option<Observer>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("policy", &self.policy)
            .field("deadline", &self.deadline)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("budgets", &self.budgets)
            .field("idempotency_header", &self.idempotency_header)
            .field("generate_keys", &self.generate_keys)
            .field("max_error_body", &self.max_error_body)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// The defaults: [`Policy::default()`], a budget per host
    /// ([`BudgetConfig::default()`]), the `Idempotency-Key` header, keys
    /// only when asked for, error bodies kept up to 64 KiB.
    pub fn new() -> ClientBuilder {
        ClientBuilder {
            http: None,
            policy: Policy::default(),
            deadline: None,
            attempt_timeout: None,
            budgets: Some(Arc::new(BudgetRegistry::default())),
            idempotency_header: HeaderName::from_static("idempotency-key"),
            generate_keys: false,
            max_error_body: DEFAULT_MAX_ERROR_BODY,
            seed: None,
            on_attempt: None,
        }
    }

    /// Sends with this reqwest client (its pool, TLS, proxies, default
    /// headers and redirect policy), rather than a new one.
    pub fn http_client(mut self, client: reqwest::Client) -> ClientBuilder {
        self.http = Some(client);
        self
    }

    /// The retry policy: a preset ([`Policy::cudo()`], [`Policy::gcore()`],
    /// [`Policy::aip194_strict()`], [`Policy::default()`]) or your own.
    pub fn policy(mut self, policy: Policy) -> ClientBuilder {
        self.policy = policy;
        self
    }

    /// The overall deadline of a logical request, all attempts and waits
    /// included, in place of the policy's. When the policy's per-attempt
    /// timeout is longer, attempts are bounded by the deadline alone.
    pub fn deadline(mut self, deadline: Duration) -> ClientBuilder {
        self.deadline = Some(deadline);
        self
    }

    /// The longest one attempt may take, in place of the policy's (it must
    /// not exceed the deadline). An attempt is everything up to the
    /// response head for [`RequestBuilder::send`] (and up to the end of an
    /// error body, which the client reads), and up to the end of the body
    /// for [`RequestBuilder::send_buffered`].
    pub fn attempt_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// A budget per host with this configuration (see
    /// [`canon_retry::budget`]); the default is
    /// [`BudgetConfig::default()`].
    pub fn budget(mut self, config: BudgetConfig) -> ClientBuilder {
        self.budgets = Some(Arc::new(BudgetRegistry::new(config)));
        self
    }

    /// Shares these budgets with other clients: every client that holds the
    /// registry spends the same budget for the same host.
    pub fn budget_registry(mut self, registry: Arc<BudgetRegistry>) -> ClientBuilder {
        self.budgets = Some(registry);
        self
    }

    /// Retries without a budget: only the policy limits them. For one-shot
    /// tools and tests, not for services (see [`canon_retry::budget`]).
    pub fn no_budget(mut self) -> ClientBuilder {
        self.budgets = None;
        self
    }

    /// The header idempotency keys are sent in (default `Idempotency-Key`).
    pub fn idempotency_header(mut self, name: HeaderName) -> ClientBuilder {
        self.idempotency_header = name;
        self
    }

    /// Whether a POST or PATCH that has no key gets one the client
    /// generates (a UUID v4, the same on every attempt), which makes it
    /// retryable. Off by default: a key the server ignores makes a retry
    /// look safe when it is not, so turn it on only for APIs that honour
    /// the idempotency header.
    pub fn generate_idempotency_keys(mut self, generate: bool) -> ClientBuilder {
        self.generate_keys = generate;
        self
    }

    /// The most bytes of an error body kept and decoded (default 64 KiB);
    /// see [`ErrorResponse::body_was_cut`](crate::ErrorResponse::body_was_cut).
    pub fn max_error_body(mut self, bytes: usize) -> ClientBuilder {
        self.max_error_body = bytes;
        self
    }

    /// Fixes the random source (jitter, generated keys, the budgets'
    /// fractional tokens): the same seed, the same waits and keys.
    pub fn seed(mut self, seed: u64) -> ClientBuilder {
        self.seed = Some(seed);
        self
    }

    /// Calls `observer` after each attempt, once the engine has decided
    /// what comes next and before it waits. See [`AttemptReport`].
    pub fn on_attempt(mut self, observer: impl Fn(&AttemptReport) + Send + Sync + 'static) -> ClientBuilder {
        self.on_attempt = Some(Arc::new(observer));
        self
    }

    /// The client. Fails when the deadline or the per-attempt timeout makes
    /// the policy invalid.
    pub fn build(self) -> Result<Client, PolicyError> {
        let mut policy = self.policy;
        if self.deadline.is_some() || self.attempt_timeout.is_some() {
            let mut builder = policy.to_builder();
            if let Some(deadline) = self.deadline {
                builder = builder.deadline(deadline);
                if self.attempt_timeout.is_none() && policy.attempt_timeout().is_some_and(|t| t > deadline) {
                    builder = builder.no_attempt_timeout();
                }
            }
            if let Some(timeout) = self.attempt_timeout {
                builder = builder.attempt_timeout(timeout);
            }
            policy = builder.build()?;
        }
        let one_shot = policy.to_builder().max_attempts(1).build()?;
        let retrier = |policy: Policy| {
            let builder = Retrier::builder(policy).no_budget();
            match self.seed {
                Some(seed) => builder.seed(seed),
                None => builder,
            }
            .build()
        };
        let rng = self.seed.map_or_else(SplitMix64::from_entropy, |seed| SplitMix64::new(seed ^ 0x6275_6467_6574));
        Ok(Client {
            shared: Arc::new(Shared {
                http: self.http.unwrap_or_default(),
                first_timeout: engine::first_timeout(&policy),
                retrier: retrier(policy),
                one_shot: retrier(one_shot),
                budgets: self.budgets,
                budget_cache: BudgetCache::default(),
                rng: Mutex::new(rng),
                idempotency_header: self.idempotency_header,
                generate_keys: self.generate_keys,
                max_error_body: self.max_error_body,
                on_attempt: self.on_attempt,
                timers: Timers::default(),
            }),
        })
    }
}

#[derive(Debug, Clone)]
enum KeyChoice {
    /// The header's value if the request has one; else a generated key if
    /// the client generates keys for this method; else none.
    Default,
    Given(String),
    Generate,
}

/// A request being built, like [`reqwest::RequestBuilder`], with the
/// idempotency key added. Send it with [`send`](RequestBuilder::send) or
/// [`send_buffered`](RequestBuilder::send_buffered).
///
/// A request whose body is a stream cannot be sent twice: it gets one
/// attempt, and a retryable error ends it with
/// [`GiveUpReason::AttemptsExhausted`](canon_retry::GiveUpReason::AttemptsExhausted).
#[derive(Debug)]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    inner: reqwest::RequestBuilder,
    key: KeyChoice,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header<K, V>(mut self, key: K, value: V) -> RequestBuilder
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.inner = self.inner.header(key, value);
        self
    }

    /// Adds headers.
    pub fn headers(mut self, headers: HeaderMap) -> RequestBuilder {
        self.inner = self.inner.headers(headers);
        self
    }

    /// Sets the body.
    pub fn body<T: Into<reqwest::Body>>(mut self, body: T) -> RequestBuilder {
        self.inner = self.inner.body(body);
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, json: &T) -> RequestBuilder {
        self.inner = self.inner.json(json);
        self
    }

    /// Appends query parameters.
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> RequestBuilder {
        self.inner = self.inner.query(query);
        self
    }

    /// Adds an `Authorization: Bearer` header.
    pub fn bearer_auth<T: fmt::Display>(mut self, token: T) -> RequestBuilder {
        self.inner = self.inner.bearer_auth(token);
        self
    }

    /// Caps each attempt of this request at `timeout`, from the start to the
    /// end of the body, including a body read after
    /// [`send`](RequestBuilder::send) returns (this is reqwest's own
    /// per-request timeout; the policy's per-attempt timeout and the
    /// deadline still apply).
    pub fn timeout(mut self, timeout: Duration) -> RequestBuilder {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// Changes the underlying reqwest builder, for what this type does not
    /// wrap.
    pub fn map(mut self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> RequestBuilder {
        self.inner = f(self.inner);
        self
    }

    /// Sends `key` in the idempotency header on every attempt, which makes
    /// the request retryable whatever its method. A key already set as a
    /// header counts too.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> RequestBuilder {
        self.key = KeyChoice::Given(key.into());
        self
    }

    /// Sends a key the client generates (a UUID v4) in the idempotency
    /// header, the same on every attempt.
    pub fn generate_idempotency_key(mut self) -> RequestBuilder {
        self.key = KeyChoice::Generate;
        self
    }

    /// Sends the request until a 2xx response head arrives or the engine
    /// gives up; the body of the success is yours to read, and a failure
    /// while reading it is reqwest's error, not retried (bound it with
    /// [`timeout`](RequestBuilder::timeout) if you need to). Every non-2xx
    /// response is decoded into an [`ErrorResponse`](crate::ErrorResponse).
    #[inline]
    pub fn send(self) -> impl Future<Output = Result<Response, Error>> + Send + 'static {
        self.start::<Head>()
    }

    /// Sends the request and reads the whole body of the success inside the
    /// attempt, so that a body cut short is a transport failure, retried
    /// like any other.
    pub fn send_buffered(self) -> impl Future<Output = Result<BufferedResponse, Error>> + Send + 'static {
        self.start::<Whole>()
    }

    #[inline(always)]
    fn start<R: Read>(self) -> Sending<R, impl Sent> {
        let RequestBuilder { client, method, inner, key } = self;
        match inner.build() {
            Ok(request) => run_request::<R>(client.shared, request, key),
            Err(error) => Sending::engine(Box::pin(std::future::ready(Err(Error::request(method, error, Vec::new()))))),
        }
    }
}

/// A successful response read whole.
#[derive(Debug, Clone)]
pub struct BufferedResponse {
    pub(crate) url: Url,
    pub(crate) http_status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl BufferedResponse {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.http_status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The URL that answered (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The server's request id (`x-request-id`, else `request-id`).
    pub fn request_id(&self) -> Option<&str> {
        engine::request_id(&self.headers)
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, by value.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part of a request that a retry sends again, from a template,
    /// whether the template boxes the rarely set parts or not.
    #[test]
    fn a_template_makes_the_request_again() {
        let url: Url = "https://api.example.com/v1/vms?page=2".parse().expect("a URL");
        let plain = || Request::new(Method::GET, url.clone());
        let with = |f: &dyn Fn(&mut Request)| {
            let mut request = Request::new(Method::POST, url.clone());
            f(&mut request);
            request
        };
        let table: Vec<(&str, Request, bool)> = vec![
            ("a plain GET", plain(), false),
            (
                "a header",
                with(&|r| {
                    r.headers_mut().insert("x-api-key", HeaderValue::from_static("k"));
                }),
                true,
            ),
            ("a body", with(&|r| *r.body_mut() = Some(reqwest::Body::from("{\"name\":\"vm-1\"}"))), true),
            ("a timeout", with(&|r| *r.timeout_mut() = Some(Duration::from_millis(250))), true),
            ("a version", with(&|r| *r.version_mut() = Version::HTTP_2), true),
        ];
        for (name, request, boxed) in table {
            let template = Template::new(&request).expect("a body in memory");
            assert_eq!(template.rest.is_some(), boxed, "{name}");
            let again = template.request();
            assert_eq!(again.method(), request.method(), "{name}");
            assert_eq!(again.url(), request.url(), "{name}");
            assert_eq!(again.headers(), request.headers(), "{name}");
            assert_eq!(again.version(), request.version(), "{name}");
            assert_eq!(again.timeout(), request.timeout(), "{name}");
            let bytes = |r: &Request| r.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec);
            assert_eq!(bytes(&again), bytes(&request), "{name}");
        }
    }
}
