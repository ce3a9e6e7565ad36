//! The text of a request's URL, kept for a retry in a recycled buffer.
//!
//! A request that may be retried keeps a copy of itself. Its URL is the
//! only part of that copy that costs an allocation (`Url::clone` copies the
//! URL's text into a new `String`), and that allocation is made and freed
//! on every request, though a retry is rare. So the copy keeps the URL's
//! text in a buffer taken from a small per-thread list of freed buffers,
//! and parses it again only for a retry. Parsing a URL's text gives back
//! the same URL: the `url` crate checks exactly that among its own
//! invariants (`Url::check_invariants`).

use std::cell::RefCell;

use reqwest::Url;

/// The most free buffers a thread keeps.
const FREE_BUFFERS: usize = 32;

/// The largest buffer kept for reuse, in bytes.
const LARGEST_KEPT: usize = 2048;

thread_local! {
    static FREE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A URL's text, in a buffer that goes back to its thread's free list when
/// dropped.
pub(crate) struct UrlText {
    text: String,
}

impl UrlText {
    /// The text of `url`.
    pub(crate) fn new(url: &Url) -> UrlText {
        let mut text = FREE.try_with(|free| free.borrow_mut().pop()).ok().flatten().unwrap_or_default();
        text.push_str(url.as_str());
        UrlText { text }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL again.
    pub(crate) fn to_url(&self) -> Url {
        Url::parse(&self.text).expect("the text of a URL parses")
    }
}

impl Drop for UrlText {
    fn drop(&mut self) {
        if self.text.capacity() > LARGEST_KEPT {
            return;
        }
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        // A thread that is ending has no list any more: the buffer is freed.
        let _ = FREE.try_with(|free| {
            let mut free = free.borrow_mut();
            if free.len() < FREE_BUFFERS {
                free.push(text);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text parses back into the same URL, whatever the URL's parts;
    /// freed buffers are reused.
    #[test]
    fn the_text_gives_back_the_same_url() {
        let urls = [
            "http://127.0.0.1:8080/v1/vms/vm-1",
            "https://API.Example.com/v1/vms?filter=a%20b&x=%E2%82%AC#frag",
            "https://user:pa%40ss@example.com:8443/a/../b/./c/%2e%2E/d",
            "http://[::1]:3000/",
            "https://bücher.example/π?q=ü",
            "http://example.com:80/default-port",
        ];
        for text in urls {
            let url = Url::parse(text).unwrap();
            let copy = UrlText::new(&url);
            assert_eq!(copy.as_str(), url.as_str());
            assert_eq!(copy.to_url(), url, "{text}");
            drop(copy);
        }
        let again = UrlText::new(&Url::parse("http://a.example/").unwrap());
        assert!(
            again.text.capacity() >= "https://user:pa%40ss@example.com:8443/b/d".len(),
            "a freed buffer was reused"
        );
    }
}
