//! Rate limits on what anyone may do without a key: new conversations by client address,
//! messages by conversation. A token bucket each: half a minute's allowance at once, then
//! the rest spread over the minute; past it, 429 with `Retry-After`. Within one process: on
//! several replicas, each counts its own share.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::Instant,
};

use axum::http::HeaderMap;

use super::error::ApiError;

/// Buckets this many keys before those that are full again are forgotten.
const FORGET_AT: usize = 10_000;

/// Token buckets by key, `per_minute` tokens a minute each (0: no limit).
pub struct Buckets {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Buckets {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of `key`'s bucket, or says how many seconds until one is back.
    pub fn take(&self, key: &str) -> Result<(), ApiError> {
        self.take_at(key, Instant::now())
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
    }

    fn take_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let full = f64::from(self.per_minute.div_ceil(2));
        let refilled = |bucket: &Bucket| {
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(full)
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= FORGET_AT {
            buckets.retain(|_, bucket| refilled(bucket) < full);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: full,
            at: now,
        });
        bucket.tokens = refilled(bucket);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            // Whole seconds, rounded up: a client that waits that long gets in.
            Err(((1.0 - bucket.tokens) / rate - 1e-9).ceil().max(1.0) as u64)
        }
    }
}

/// Who a request came from, for its limits: the last address of `header` (as
/// `X-Forwarded-For` ends with the one our proxy saw; the addresses before it are the client's
/// to write, and so is a line of the header before the proxy's own); with no header set, that
/// of `X-Forwarded-For` when the connection comes from a proxy on this machine or a private
/// network (the README's nginx sets it), else the connection's address. An IPv6 client is
/// its /64, which one subscriber holds whole.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, header: &str) -> String {
    let proxied = peer.is_some_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    });
    let header = match header {
        "" if proxied => "x-forwarded-for",
        "" => return key(peer),
        named => named,
    };
    let forwarded = headers
        .get_all(header)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    key(forwarded.or(peer))
}

/// An address as a limit's key: IPv4 whole, IPv6 by its first 64 bits.
fn key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_owned(),
    }
}

/// A connection's peer address, put on each of its requests.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub IpAddr);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_lets_half_a_minutes_allowance_through_then_one_at_its_rate() {
        let buckets = Buckets::new(20);
        let start = Instant::now();
        for _ in 0..10 {
            assert_eq!(buckets.take_at("a", start), Ok(()));
        }
        // The eleventh waits for a token: one every three seconds.
        assert_eq!(buckets.take_at("a", start), Err(3));
        // Another key has its own bucket.
        assert_eq!(buckets.take_at("b", start), Ok(()));
        assert_eq!(buckets.take_at("a", start + Duration::from_secs(3)), Ok(()));
        assert_eq!(buckets.take_at("a", start + Duration::from_secs(4)), Err(2));
        // A minute later it is full again, and no fuller.
        let later = start + Duration::from_secs(600);
        for _ in 0..10 {
            assert_eq!(buckets.take_at("a", later), Ok(()));
        }
        assert!(buckets.take_at("a", later).is_err());
        // 0 is no limit.
        let open = Buckets::new(0);
        assert!((0..1000).all(|_| open.take_at("a", start).is_ok()));
    }

    #[test]
    fn the_address_is_the_peers_or_the_last_a_trusted_proxy_forwarded() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9".parse().expect("value"),
        );
        // A client on the internet writes what it likes: its own address counts.
        assert_eq!(
            client_address(ip("198.51.100.7"), &headers, ""),
            "198.51.100.7"
        );
        // A proxy on a private network or this machine: the address it saw, the last one.
        assert_eq!(client_address(ip("10.0.0.2"), &headers, ""), "203.0.113.9");
        assert_eq!(client_address(ip("127.0.0.1"), &headers, ""), "203.0.113.9");
        // A header named: trusted from any peer; of two lines, the proxy's, the last.
        headers.append("x-forwarded-for", "192.0.2.1".parse().expect("value"));
        assert_eq!(
            client_address(ip("198.51.100.7"), &headers, "x-forwarded-for"),
            "192.0.2.1"
        );
        headers.insert("x-forwarded-for", "nonsense".parse().expect("value"));
        assert_eq!(client_address(ip("10.0.0.2"), &headers, ""), "10.0.0.2");
        // IPv6 by its /64.
        assert_eq!(
            client_address(ip("2001:db8:1:2:aaaa::1"), &HeaderMap::new(), ""),
            "2001:db8:1:2::/64"
        );
    }
}
