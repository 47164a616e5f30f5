//! Reading a RIB dump: MRT (RFC 6396) `TABLE_DUMP_V2` or `TABLE_DUMP`, bzip2-compressed
//! or plain (told apart by their first bytes), with bgpkit-parser.
//!
//! bgpkit's record iterator ends silently at a cut-off record. This reader drives the
//! record framing itself (`chunk_mrt_record`) so that it can tell the three endings
//! apart: a clean end of input, an input cut in the middle of a record (reported as a
//! [`Truncation`], after every whole record before it was kept), and bytes that are
//! not MRT (an error that names the file).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use bgpkit_parser::models::{
    self as mrt, AsPath, AttributeValue, MrtMessage, TableDumpMessage, TableDumpV2Message,
};
use bgpkit_parser::{ParserError, chunk_mrt_record};
use frrhook::codec::frr::InAddr;

use crate::route::{Attributes, Origin, Peer, PeerStats, Route, SockUnion};

/// The AS of the demo daemon itself (MRT dumps do not record the collector's AS).
pub const LOCAL_AS: u32 = 65000;

/// MRT type `TABLE_DUMP` (version 1).
const TABLE_DUMP: u16 = 12;
/// MRT type `TABLE_DUMP_V2`.
const TABLE_DUMP_V2: u16 = 13;
/// Bytes of an MRT common header.
const HEADER_LEN: usize = 12;

/// How the file was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// bzip2 (`BZh` magic), possibly several concatenated streams.
    Bzip2,
    /// None: the file is MRT itself.
    None,
}

/// Where and how the input was cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The 1-based number of the cut record.
    pub record: u64,
    /// Its offset in the (decompressed) MRT stream.
    pub offset: u64,
    /// The record length its header declares (header included), when the header is whole.
    pub declared: Option<u64>,
    /// The bytes of it that are present.
    pub available: u64,
    /// Why the input ended (the decompressor's or the reader's error).
    pub cause: String,
}

impl fmt::Display for Truncation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} at byte {} of the MRT stream is cut off: ",
            self.record, self.offset
        )?;
        match self.declared {
            Some(d) => write!(f, "{d} bytes declared, {} present", self.available)?,
            None => write!(
                f,
                "only {} of its {HEADER_LEN} header bytes are present",
                self.available
            )?,
        }
        write!(f, " ({})", self.cause)
    }
}

/// A RIB read from a file.
#[derive(Debug, Clone)]
pub struct Rib {
    /// The file.
    pub path: PathBuf,
    /// How it was compressed.
    pub compression: Compression,
    /// `TABLE_DUMP_V2` or `TABLE_DUMP`.
    pub format: &'static str,
    /// The peers, indexed by [`Route::peer`].
    pub peers: Vec<Peer>,
    /// Every route of every whole record, in file order.
    pub routes: Vec<Route>,
    /// Whole MRT records read (the peer index table included).
    pub records: u64,
    /// Records that were whole but did not parse (described), skipped.
    pub skipped: Vec<String>,
    /// Set when the input ends inside a record.
    pub truncated: Option<Truncation>,
}

/// The input could not be read as an MRT RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MrtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for MrtError {}

/// Reads the RIB in `path`. `progress` is called now and then with the number of
/// bytes of the file consumed so far.
pub fn read_rib(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Rib, MrtError> {
    let err = |message: String| MrtError {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let consumed = Rc::new(Cell::new(0u64));
    let mut raw = BufReader::with_capacity(
        1 << 16,
        Counted {
            inner: file,
            count: consumed.clone(),
        },
    );
    let magic = raw
        .fill_buf()
        .map_err(|e| err(format!("cannot read: {e}")))?;
    let compression = if magic.starts_with(b"BZh") {
        Compression::Bzip2
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        return Err(err(
            "gzip-compressed input is not supported: use bzip2 or plain MRT".into(),
        ));
    } else {
        Compression::None
    };
    let decompressed: Box<dyn Read> = match compression {
        Compression::Bzip2 => Box::new(BufReader::with_capacity(
            1 << 16,
            bzip2::read::MultiBzDecoder::new(raw),
        )),
        Compression::None => Box::new(raw),
    };
    let mut stream = Tracked {
        inner: decompressed,
        offset: 0,
        error: None,
    };

    // Check the first header before handing the stream to the parser, so that a file
    // that is not MRT is named as such rather than reported as a parse error.
    let mut first = [0u8; HEADER_LEN];
    let got = read_up_to(&mut stream, &mut first);
    if let Some(e) = &stream.error {
        let what = match compression {
            Compression::Bzip2 => "bzip2 data",
            Compression::None => "file",
        };
        return Err(err(format!("cannot read the {what}: {e}")));
    }
    let format = check_first_header(&first[..got]).map_err(err)?;
    let mut stream = Tracked {
        inner: Cursor::new(first).chain(stream.inner),
        offset: 0,
        error: None,
    };

    let mut reader = RibBuilder::default();
    let mut records = 0u64;
    let mut skipped = Vec::new();
    let truncated = loop {
        let offset = stream.offset;
        match chunk_mrt_record(&mut stream) {
            Ok(raw_record) => {
                records += 1;
                let header = raw_record.common_header;
                match raw_record.parse() {
                    Ok(record) => {
                        if let Err(e) = reader.add(record) {
                            skipped.push(format!("record {records} at byte {offset}: {e}"));
                        }
                    }
                    Err(e) => skipped.push(format!(
                        "record {records} at byte {offset} (type {:?}, subtype {}): {e}",
                        header.entry_type, header.entry_subtype
                    )),
                }
                if records.is_multiple_of(512) {
                    progress(consumed.get());
                }
            }
            Err(e) => {
                let stream_error = stream.error.take();
                let eof = matches!(&e.error, ParserError::EofExpected);
                let short = match &e.error {
                    ParserError::IoError(io) | ParserError::EofError(io) => {
                        io.kind() == io::ErrorKind::UnexpectedEof
                    }
                    _ => false,
                };
                if eof && stream_error.is_none() {
                    break None;
                }
                if !(eof || short || stream_error.is_some()) {
                    return Err(err(format!(
                        "record {} at byte {offset} of the MRT stream is not valid MRT: {}",
                        records + 1,
                        e.error
                    )));
                }
                let available = e.bytes.as_ref().map_or(0, |b| b.len() as u64);
                let declared = e.bytes.as_ref().and_then(|b| {
                    (b.len() >= HEADER_LEN).then(|| {
                        u64::from(u32::from_be_bytes([b[8], b[9], b[10], b[11]]))
                            + HEADER_LEN as u64
                    })
                });
                let cause = match (&stream_error, compression) {
                    (Some(se), Compression::Bzip2) => format!("the bzip2 stream ends early: {se}"),
                    (Some(se), Compression::None) => format!("read error: {se}"),
                    (None, _) => "the input ends early".to_string(),
                };
                break Some(Truncation {
                    record: records + 1,
                    offset,
                    declared,
                    available,
                    cause,
                });
            }
        }
    };
    progress(consumed.get());
    let (peers, routes) = reader.finish();
    Ok(Rib {
        path: path.to_path_buf(),
        compression,
        format,
        peers,
        routes,
        records,
        skipped,
        truncated,
    })
}

/// Reads until `buf` is full or the input ends; errors end the read (and stay recorded
/// in `stream`).
fn read_up_to<R: Read>(stream: &mut Tracked<R>, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// Checks that `header` starts an MRT RIB dump; returns its format.
fn check_first_header(header: &[u8]) -> Result<&'static str, String> {
    if header.is_empty() {
        return Err("empty input: not an MRT file".into());
    }
    if header.len() < HEADER_LEN {
        return Err(format!(
            "not an MRT file: {} bytes, shorter than one MRT header ({HEADER_LEN} bytes)",
            header.len()
        ));
    }
    let kind = u16::from_be_bytes([header[4], header[5]]);
    let subtype = u16::from_be_bytes([header[6], header[7]]);
    let length = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    let format = match (kind, subtype) {
        (TABLE_DUMP_V2, 1..=12) => "TABLE_DUMP_V2",
        (TABLE_DUMP, 1 | 2) => "TABLE_DUMP",
        (16 | 17, _) => {
            return Err(
                "MRT BGP4MP (a stream of BGP messages), not a RIB dump (TABLE_DUMP or TABLE_DUMP_V2)"
                    .into(),
            );
        }
        _ => {
            return Err(format!(
                "not an MRT RIB dump: the first record has type {kind}, subtype {subtype} \
                 (expected TABLE_DUMP_V2 = 13 or TABLE_DUMP = 12)"
            ));
        }
    };
    if length > 16 << 20 {
        return Err(format!(
            "not an MRT RIB dump: the first record claims {length} bytes"
        ));
    }
    Ok(format)
}

/// Turns parsed records into routes and peers.
#[derive(Default)]
struct RibBuilder {
    peers: Vec<Peer>,
    /// TABLE_DUMP_V2: peer index -> index in `peers`.
    v2_index: Option<Vec<u32>>,
    /// TABLE_DUMP: (address, AS) -> index in `peers`.
    v1_index: HashMap<(IpAddr, u32), u32>,
    local_id: Option<Ipv4Addr>,
    timestamp: i64,
    routes: Vec<Route>,
}

impl RibBuilder {
    fn add(&mut self, record: mrt::MrtRecord) -> Result<(), String> {
        self.timestamp = i64::from(record.common_header.timestamp);
        match record.message {
            MrtMessage::TableDumpV2Message(TableDumpV2Message::PeerIndexTable(table)) => {
                self.local_id = Some(table.collector_bgp_id);
                let mut ids: Vec<u16> = table.id_peer_map.keys().copied().collect();
                ids.sort_unstable();
                let max = ids.last().map_or(0, |m| usize::from(*m) + 1);
                let mut index = vec![u32::MAX; max];
                for id in ids {
                    let p = &table.id_peer_map[&id];
                    index[usize::from(id)] = self.peers.len() as u32;
                    let peer = self.make_peer(p.peer_asn.to_u32(), p.peer_bgp_id, p.peer_ip);
                    self.peers.push(peer);
                }
                self.v2_index = Some(index);
                Ok(())
            }
            MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(rib)) => {
                let index = self
                    .v2_index
                    .as_ref()
                    .ok_or("RIB record before the PEER_INDEX_TABLE")?;
                for entry in &rib.rib_entries {
                    let peer = index
                        .get(usize::from(entry.peer_index))
                        .copied()
                        .filter(|p| *p != u32::MAX)
                        .ok_or_else(|| {
                            format!("peer index {} is not in the peer table", entry.peer_index)
                        })?;
                    self.routes.push(Route {
                        prefix: rib.prefix.prefix,
                        attributes: convert_attributes(&entry.attributes),
                        peer,
                    });
                }
                Ok(())
            }
            MrtMessage::TableDumpV2Message(other) => {
                Err(format!("{:?} records are not supported", other.dump_type()))
            }
            MrtMessage::TableDumpMessage(m) => {
                self.add_v1(&m);
                Ok(())
            }
            MrtMessage::TableDumpMessageBatch(ms) => {
                for m in &ms {
                    self.add_v1(m);
                }
                Ok(())
            }
            MrtMessage::Bgp4Mp(_) | MrtMessage::LegacyBgp(_) => {
                Err("a BGP message record inside a RIB dump".into())
            }
        }
    }

    fn add_v1(&mut self, m: &TableDumpMessage) {
        let asn = m.peer_asn.to_u32();
        let key = (m.peer_ip, asn);
        let peer = match self.v1_index.get(&key) {
            Some(p) => *p,
            None => {
                let id = match m.peer_ip {
                    IpAddr::V4(v4) => v4,
                    IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                };
                let p = self.peers.len() as u32;
                let peer = self.make_peer(asn, id, m.peer_ip);
                self.peers.push(peer);
                self.v1_index.insert(key, p);
                p
            }
        };
        self.routes.push(Route {
            prefix: m.prefix.prefix,
            attributes: convert_attributes(&m.attributes),
            peer,
        });
    }

    fn make_peer(&self, remote_as: u32, remote_id: Ipv4Addr, address: IpAddr) -> Peer {
        let local_id = self.local_id.unwrap_or(Ipv4Addr::UNSPECIFIED);
        Peer {
            remote_as,
            local_as: LOCAL_AS,
            remote_id: InAddr(remote_id),
            local_id: InAddr(local_id),
            state: "Established".into(),
            description: format!("AS{remote_as} via {address}"),
            uptime: self.timestamp,
            last_readtime: self.timestamp,
            last_resettime: 0,
            local_address: IpAddr::V4(local_id).into(),
            remote_address: SockUnion::from(address),
            capabilities: 0,
            flags: 0,
            stats: PeerStats {
                open_in: 1,
                open_out: 1,
                times_established: 1,
                ..PeerStats::default()
            },
        }
    }

    fn finish(mut self) -> (Vec<Peer>, Vec<Route>) {
        for r in &self.routes {
            self.peers[r.peer as usize].stats.update_in += 1;
        }
        for p in &mut self.peers {
            p.stats.update_time = self.timestamp;
        }
        (self.peers, self.routes)
    }
}

/// bgpkit's attributes in FRR's shape.
fn convert_attributes(attrs: &mrt::Attributes) -> Attributes {
    let mut out = Attributes::default();
    let mut as_path: Option<&AsPath> = None;
    let mut as4_path: Option<&AsPath> = None;
    let mut mp_nexthop = None;
    for value in attrs {
        match value {
            AttributeValue::Origin(o) => {
                out.origin = match o {
                    mrt::Origin::IGP => Origin::Igp,
                    mrt::Origin::EGP => Origin::Egp,
                    mrt::Origin::INCOMPLETE => Origin::Incomplete,
                }
            }
            AttributeValue::AsPath(p) => as_path = Some(p),
            AttributeValue::As4Path(p) => as4_path = Some(p),
            AttributeValue::NextHop(nh) => out.nexthop = Some(*nh),
            AttributeValue::MpReachNlri(nlri) => mp_nexthop = nlri.next_hop.map(|n| n.addr()),
            AttributeValue::MultiExitDiscriminator(m) => out.metric = *m,
            AttributeValue::LocalPreference(l) => out.localpref = *l,
            AttributeValue::AtomicAggregate => out.atomic_aggregate = true,
            AttributeValue::Communities(cs) => {
                out.community.extend(cs.iter().map(ToString::to_string));
            }
            AttributeValue::LargeCommunities(cs) => {
                out.large_community
                    .extend(cs.iter().map(ToString::to_string));
            }
            AttributeValue::ExtendedCommunities(cs) => {
                out.extcommunity.extend(cs.iter().map(ToString::to_string));
            }
            AttributeValue::Ipv6AddressSpecificExtendedCommunities(cs) => {
                out.extcommunity.extend(cs.iter().map(ToString::to_string));
            }
            _ => {}
        }
    }
    out.aspath = match (as_path, as4_path) {
        (Some(p), Some(p4)) => AsPath::merge_aspath_as4path(p, p4).to_string(),
        (Some(p), None) | (None, Some(p)) => p.to_string(),
        (None, None) => String::new(),
    };
    if out.nexthop.is_none() {
        out.nexthop = mp_nexthop;
    }
    out
}

/// Counts the bytes read from the file (for the progress bar).
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The MRT stream: counts its offset and keeps the first read error, so that the end
/// of input can be classified after the parser has turned it into its own error.
struct Tracked<R> {
    inner: R,
    offset: u64,
    error: Option<String>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.offset += n as u64;
                Ok(n)
            }
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(e.to_string());
                }
                Err(e)
            }
        }
    }
}
