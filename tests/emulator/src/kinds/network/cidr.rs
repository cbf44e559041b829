//! IPv4 CIDR blocks: parsing, containment, sizes and the emulator's made-up public addresses.
//!
//! Caveat: IPv6 prefixes are not parsed (a subnet or network given only IPv6 ranges is not range-checked).

use std::net::Ipv4Addr;

/// An IPv4 block `base/len` (host bits of `base` may be set, as written; [`Block::network`] clears them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub base: u32,
    pub len: u8,
}

impl Block {
    /// Parses `a.b.c.d/n` (n ≤ 32); `None` for anything else (IPv6 included).
    pub fn parse(text: &str) -> Option<Block> {
        let (address, len) = text.trim().split_once('/')?;
        let address: Ipv4Addr = address.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        Some(Block { base: u32::from(address), len })
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len))
        }
    }

    /// The first address of the block.
    pub fn network(self) -> u32 {
        self.base & self.mask()
    }

    /// Whether `inner` lies entirely inside this block.
    pub fn contains(self, inner: Block) -> bool {
        inner.len >= self.len && inner.network() & self.mask() == self.network()
    }
}

/// How many addresses an IPv4 prefix of length `len` holds (`/28` → 16, `/31` → 2).
pub fn size_of_prefix(len: u64) -> u64 {
    if len > 32 {
        0
    } else {
        1u64 << (32 - len)
    }
}

/// Whether every block of `inner` (`a.b.c.d/n` texts) lies inside one of `outer`; texts that are not IPv4
/// blocks are ignored on both sides.
pub fn all_inside(inner: &[String], outer: &[String]) -> bool {
    let outer: Vec<Block> = outer.iter().filter_map(|t| Block::parse(t)).collect();
    inner.iter().filter_map(|t| Block::parse(t)).all(|i| outer.iter().any(|o| o.contains(i)))
}

/// A stable made-up public IPv4 address for a resource id, in `20.0.0.0/8` aligned to a block of
/// `len` bits (`len` 32 for a single address).
pub fn public_address(id: &str, len: u8) -> String {
    let hash =
        id.to_ascii_lowercase().bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let base = (20u32 << 24) | (hash & 0x00ff_ffff);
    let block = Block { base, len: len.min(32) };
    let address = Ipv4Addr::from(block.network().max((20u32 << 24) + 1));
    if len >= 32 {
        address.to_string()
    } else {
        format!("{address}/{len}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let vnet = Block::parse("10.0.0.0/16").unwrap();
        assert!(vnet.contains(Block::parse("10.0.1.0/24").unwrap()));
        assert!(!vnet.contains(Block::parse("10.1.0.0/24").unwrap()));
        assert!(!vnet.contains(Block::parse("10.0.0.0/8").unwrap()));
        assert_eq!(Block::parse("2001:db8::/64"), None);
        assert_eq!(Block::parse("10.0.0.0/33"), None);
        assert!(all_inside(&["10.0.2.0/24".into()], &["192.168.0.0/16".into(), "10.0.0.0/16".into()]));
        assert!(!all_inside(&["10.2.0.0/24".into()], &["10.0.0.0/16".into()]));
        assert_eq!((size_of_prefix(28), size_of_prefix(31), size_of_prefix(32)), (16, 2, 1));
    }

    #[test]
    fn made_up_addresses_are_stable_and_aligned() {
        let a = public_address("/subscriptions/s/x", 32);
        assert_eq!(a, public_address("/SUBSCRIPTIONS/s/X", 32));
        assert!(a.starts_with("20."));
        let p = public_address("/subscriptions/s/p", 28);
        let block = Block::parse(&p).unwrap();
        assert_eq!((block.len, block.base, block.network()), (28, block.network(), block.network()));
    }
}
