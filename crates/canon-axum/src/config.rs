//! [`ErrorConfig`]: the dialect, the ErrorInfo domain and the debug switch
//! of a server's errors.
//!
//! The configuration travels with each request: [`RequestIdLayer`] makes it
//! current for everything inside it (handlers, extractors, fallbacks and
//! the other layers of this crate), so a handler only returns
//! `Err(ApiError)` and the response comes out in the configured dialect.
//! Without the layer, errors are written with [`ErrorConfig::default`].
//!
//! [`RequestIdLayer`]: crate::RequestIdLayer

use std::borrow::Cow;

use canon::Encoding;

/// The ErrorInfo domain of [`ErrorConfig::default`]. The `.invalid` top
/// level domain is reserved: it says plainly that nobody configured one.
pub const UNCONFIGURED_DOMAIN: &str = "unconfigured.invalid";

/// How a server writes its errors.
///
/// ```
/// use canon::Encoding;
/// use canon_axum::ErrorConfig;
///
/// let config = ErrorConfig::new(Encoding::Aip193, "compute.example.dev").with_debug_info(false);
/// assert_eq!(config.encoding(), Encoding::Aip193);
/// assert_eq!(config.domain(), "compute.example.dev");
/// assert!(!config.debug_info());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorConfig {
    encoding: Encoding,
    domain: Cow<'static, str>,
    debug_info: bool,
    wrap_foreign_errors: bool,
}

impl ErrorConfig {
    /// A configuration that writes errors in `encoding` and gives the
    /// errors this crate produces (and handler errors whose ErrorInfo has
    /// no domain) the ErrorInfo domain `domain`, usually the service name.
    ///
    /// The three dialects the crate is built for are [`Encoding::Aip193`]
    /// (bare, as CUDO sends), [`Encoding::GoogleWrapped`] and
    /// [`Encoding::Gcore`]; the others canon writes work as well.
    ///
    /// # Panics
    ///
    /// When `domain` is empty: AIP-193 requires a domain on every ErrorInfo.
    pub fn new(encoding: Encoding, domain: impl Into<Cow<'static, str>>) -> ErrorConfig {
        let domain = domain.into();
        assert!(!domain.is_empty(), "the ErrorInfo domain must not be empty");
        ErrorConfig { encoding, domain, debug_info: false, wrap_foreign_errors: true }
    }

    /// Whether error bodies may carry DebugInfo (off by default). When off,
    /// every DebugInfo detail is removed before a body is written, including
    /// the ones a handler adds; when on, a panic's message is sent as
    /// DebugInfo. Turn it on only for development servers.
    pub fn with_debug_info(mut self, enabled: bool) -> ErrorConfig {
        self.debug_info = enabled;
        self
    }

    /// Whether [`RequestIdLayer`](crate::RequestIdLayer) rewrites error
    /// responses that did not come from this crate (an empty `404` from
    /// user code, axum's text rejections, another layer's `408`) into the
    /// configured dialect (on by default). See
    /// [`reason::HTTP_ERROR`](crate::reason::HTTP_ERROR).
    pub fn with_foreign_errors_wrapped(mut self, enabled: bool) -> ErrorConfig {
        self.wrap_foreign_errors = enabled;
        self
    }

    /// The dialect errors are written in.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The ErrorInfo domain of the errors the crate produces.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The domain as the ErrorInfo holds it: a copy of a `&'static str`
    /// domain costs nothing.
    pub(crate) fn domain_text(&self) -> canon::Text {
        self.domain.clone()
    }

    /// Whether bodies may carry DebugInfo.
    pub fn debug_info(&self) -> bool {
        self.debug_info
    }

    /// Whether foreign error responses are rewritten.
    pub fn wraps_foreign_errors(&self) -> bool {
        self.wrap_foreign_errors
    }
}

impl Default for ErrorConfig {
    /// AIP-193 bare, domain [`UNCONFIGURED_DOMAIN`], no DebugInfo, foreign
    /// errors wrapped.
    fn default() -> ErrorConfig {
        ErrorConfig::new(Encoding::Aip193, UNCONFIGURED_DOMAIN)
    }
}
