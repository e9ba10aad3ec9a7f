//! The client's address behind the council's reverse proxy. The sign-in throttle and the
//! audit log count by address, so behind a proxy every request would otherwise come from
//! the proxy. Only proxies named in `server.trusted_proxies` are believed: the address is
//! the right-most entry of `X-Forwarded-For` that is not itself a trusted proxy, so a client
//! cannot choose its own address by sending the header.

use std::net::IpAddr;

/// Addresses and networks (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`) of trusted proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// A comma-separated list; empty for none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("'{item}' is not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("'{item}' has no valid prefix length"))?,
            };
            out.push((ip, bits));
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(net, bits)| within(ip, *net, *bits))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy, then the
    /// right-most untrusted address in `forwarded_for` (an `X-Forwarded-For` value).
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or_default().rsplit(',').map(str::trim) {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

fn within(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_only_as_far_as_the_first_untrusted_hop() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7, fd00::/8").unwrap();
        // Straight from a client: the header is the client's own and is ignored.
        assert_eq!(
            t.client(ip("203.0.113.9"), Some("198.51.100.1")),
            ip("203.0.113.9")
        );
        // Through the proxy: the address it saw.
        assert_eq!(
            t.client(ip("10.1.2.3"), Some("198.51.100.1")),
            ip("198.51.100.1")
        );
        // A forged entry to the left of the real one is not believed.
        assert_eq!(
            t.client(ip("10.1.2.3"), Some("1.2.3.4, 198.51.100.1")),
            ip("198.51.100.1")
        );
        // Two trusted hops.
        assert_eq!(
            t.client(ip("192.0.2.7"), Some("198.51.100.1, 10.9.9.9")),
            ip("198.51.100.1")
        );
        // Nothing forwarded, or rubbish: the proxy's own.
        assert_eq!(t.client(ip("10.1.2.3"), None), ip("10.1.2.3"));
        assert_eq!(t.client(ip("10.1.2.3"), Some("unknown")), ip("10.1.2.3"));
        assert_eq!(
            t.client(ip("fd12::1"), Some("2001:db8::5")),
            ip("2001:db8::5")
        );
        assert!(!t.contains(ip("192.0.2.8")));
    }

    #[test]
    fn a_bad_list_is_refused_with_the_item() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(
            TrustedProxies::parse("10.0.0.0/33")
                .unwrap_err()
                .contains("10.0.0.0/33")
        );
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
    }
}
