//! The budgets of the hosts a client has met, found without a lock.
//!
//! A request's host is looked up once, when the request starts, and the
//! slot it was found in is kept for the end of the request, when a success
//! earns the host its share of a retry. Slots are filled once and never
//! emptied, so a slot number stays valid for the client's life, and a
//! lookup reads filled slots without taking a lock (a lock is taken only
//! to fill one). A client that meets more than [`SLOTS`] hosts asks the
//! registry for the others each time.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use canon_retry::{BudgetRegistry, RetryBudget};
use reqwest::Url;

/// The most hosts a client remembers the budget of.
pub(crate) const SLOTS: usize = 32;

/// Where a host's budget is in a client's [`BudgetCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(u8);

/// A request's host's budget, as found when the request started.
pub(crate) enum HostBudget {
    /// In the client's cache.
    Cached(Slot),
    /// From the registry: the client's cache holds other hosts.
    Uncached(Arc<RetryBudget>),
}

/// One host's budget.
struct Entry {
    host: String,
    port: Option<u16>,
    budget: Arc<RetryBudget>,
}

/// A client's budgets, by host and port.
pub(crate) struct BudgetCache {
    slots: [OnceLock<Entry>; SLOTS],
    /// Held while a slot is filled, so that one host gets one slot.
    filling: Mutex<()>,
}

impl Default for BudgetCache {
    fn default() -> BudgetCache {
        BudgetCache { slots: std::array::from_fn(|_| OnceLock::new()), filling: Mutex::new(()) }
    }
}

/// The key under which a URL's host shares a budget: `host:port`.
pub(crate) fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

impl BudgetCache {
    /// The slot of `host` and `port`, or the index of the first empty slot
    /// (`SLOTS` when every slot is filled).
    fn find(&self, host: &str, port: Option<u16>) -> Result<usize, usize> {
        for (index, slot) in self.slots.iter().enumerate() {
            match slot.get() {
                Some(entry) if entry.port == port && entry.host == host => return Ok(index),
                Some(_) => {}
                None => return Err(index),
            }
        }
        Err(SLOTS)
    }

    /// The slot of `url`'s host, filled from `registry` the first time;
    /// `None` when every slot holds another host.
    pub(crate) fn slot(&self, registry: &BudgetRegistry, url: &Url) -> Option<Slot> {
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default();
        if let Ok(index) = self.find(host, port) {
            return Some(Slot(index as u8));
        }
        let _filling = self.filling.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have filled it meanwhile.
        let index = match self.find(host, port) {
            Ok(index) => return Some(Slot(index as u8)),
            Err(index) if index == SLOTS => return None,
            Err(index) => index,
        };
        let budget = registry.budget(&authority(url));
        let filled = self.slots[index].set(Entry { host: host.to_owned(), port, budget }).is_ok();
        debug_assert!(filled, "slots are filled only under the lock");
        Some(Slot(index as u8))
    }

    /// The budget in `slot`.
    pub(crate) fn get(&self, slot: Slot) -> &RetryBudget {
        let entry = self.slots[usize::from(slot.0)].get().expect("a slot that was handed out is filled");
        &entry.budget
    }

    /// The budget of `url`'s host: its slot, or, when every slot holds
    /// another host, the budget itself.
    pub(crate) fn host_budget(&self, registry: &BudgetRegistry, url: &Url) -> HostBudget {
        match self.slot(registry, url) {
            Some(slot) => HostBudget::Cached(slot),
            None => HostBudget::Uncached(registry.budget(&authority(url))),
        }
    }

    /// The budget `host` names.
    pub(crate) fn resolve<'a>(&'a self, host: &'a HostBudget) -> &'a RetryBudget {
        match host {
            HostBudget::Cached(slot) => self.get(*slot),
            HostBudget::Uncached(budget) => budget,
        }
    }

    /// The budget of `url`'s host, from its slot or, when every slot holds
    /// another host, from `registry`.
    pub(crate) fn budget(&self, registry: &BudgetRegistry, url: &Url) -> Arc<RetryBudget> {
        match self.slot(registry, url) {
            Some(slot) => Arc::clone(&self.slots[usize::from(slot.0)].get().expect("the slot is filled").budget),
            None => registry.budget(&authority(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// One host (by host and port) has one slot and one budget, the
    /// registry's; a client that meets more hosts than slots still gets
    /// each host's own budget from the registry.
    #[test]
    fn each_host_has_one_budget() {
        let registry = BudgetRegistry::default();
        let cache = BudgetCache::default();
        let a = cache.slot(&registry, &url("http://a.example/x")).unwrap();
        assert_eq!(cache.slot(&registry, &url("http://a.example:80/y?z")), Some(a));
        assert_ne!(cache.slot(&registry, &url("https://a.example/x")), Some(a));
        assert!(std::ptr::eq(cache.get(a), &*registry.budget("a.example:80")));
        for n in 0..SLOTS + 2 {
            let url = url(&format!("http://h{n}.example/"));
            let budget = cache.budget(&registry, &url);
            assert!(Arc::ptr_eq(&budget, &registry.budget(&format!("h{n}.example:80"))));
        }
        assert_eq!(cache.slot(&registry, &url("http://another.example/")), None);
        let another = cache.host_budget(&registry, &url("http://another.example/"));
        assert!(std::ptr::eq(cache.resolve(&another), &*registry.budget("another.example:80")));
        assert_eq!(cache.slot(&registry, &url("http://a.example/")), Some(a));
    }
}
