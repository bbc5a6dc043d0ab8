//! pcap files as ports: receive replays a capture, transmit writes what would have been sent.
//!
//! Reads the classic libpcap format in either byte order, with microsecond or nanosecond
//! timestamps, link type Ethernet. A capture is outside input: a bad header is an error, a
//! record larger than 256 KiB or cut short ends the replay and is counted, never a panic.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::{FrameBatch, IoError, PacketIo};

const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
const MAX_RECORD: usize = 256 * 1024;

pub struct PcapPort {
    reader: Option<BufReader<File>>,
    swapped: bool,
    writer: Option<BufWriter<File>>,
    /// Records that were too large or cut short (the replay stops at the first).
    pub bad_records: u64,
    /// Frames longer than a batch buffer, truncated on receive.
    pub truncated: u64,
}

fn io_err(what: &str, e: std::io::Error) -> IoError {
    IoError::Os {
        what: what.into(),
        source: e,
    }
}

fn bad(what: &str, msg: &str) -> IoError {
    io_err(
        what,
        std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string()),
    )
}

impl PcapPort {
    /// A port that replays `input` (if given) and records its transmissions to `output`.
    pub fn open(input: Option<&Path>, output: Option<&Path>) -> Result<PcapPort, IoError> {
        let mut port = PcapPort {
            reader: None,
            swapped: false,
            writer: None,
            bad_records: 0,
            truncated: 0,
        };
        if let Some(p) = input {
            let what = p.display().to_string();
            let mut r = BufReader::new(File::open(p).map_err(|e| io_err(&what, e))?);
            let mut hdr = [0u8; 24];
            r.read_exact(&mut hdr)
                .map_err(|_| bad(&what, "not a pcap file (shorter than its header)"))?;
            let magic = u32::from_le_bytes(hdr[0..4].try_into().expect("4 bytes"));
            port.swapped = match magic {
                MAGIC_US | MAGIC_NS => false,
                m if m.swap_bytes() == MAGIC_US || m.swap_bytes() == MAGIC_NS => true,
                _ => {
                    return Err(bad(
                        &what,
                        "not a pcap file (bad magic; pcapng is not supported)",
                    ))
                }
            };
            let link = port.u32(&hdr[20..24]);
            if link != LINKTYPE_ETHERNET {
                return Err(bad(&what, &format!("link type {link} is not Ethernet (1)")));
            }
            port.reader = Some(r);
        }
        if let Some(p) = output {
            let what = p.display().to_string();
            let mut w = BufWriter::new(File::create(p).map_err(|e| io_err(&what, e))?);
            let mut hdr = Vec::with_capacity(24);
            hdr.extend_from_slice(&MAGIC_US.to_le_bytes());
            hdr.extend_from_slice(&2u16.to_le_bytes());
            hdr.extend_from_slice(&4u16.to_le_bytes());
            hdr.extend_from_slice(&[0; 8]);
            hdr.extend_from_slice(&65535u32.to_le_bytes());
            hdr.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
            w.write_all(&hdr).map_err(|e| io_err(&what, e))?;
            port.writer = Some(w);
        }
        Ok(port)
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let v = u32::from_le_bytes(b.try_into().expect("4 bytes"));
        if self.swapped {
            v.swap_bytes()
        } else {
            v
        }
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> Result<(), IoError> {
        if let Some(w) = &mut self.writer {
            w.flush().map_err(|e| io_err("pcap output", e))?;
        }
        Ok(())
    }
}

impl PacketIo for PcapPort {
    fn rx(&mut self, batch: &mut FrameBatch) -> Result<usize, IoError> {
        let mut n = 0;
        while !batch.is_full() {
            let Some(r) = self.reader.as_mut() else { break };
            let mut rec = [0u8; 16];
            match r.read_exact(&mut rec) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.reader = None; // end of capture (a partial record header counts as end)
                    break;
                }
                Err(e) => return Err(io_err("pcap input", e)),
            }
            let incl = self.u32(&rec[8..12]) as usize;
            if incl > MAX_RECORD {
                self.bad_records += 1;
                self.reader = None;
                break;
            }
            let mut data = vec![0u8; incl];
            let Some(r) = self.reader.as_mut() else { break };
            if r.read_exact(&mut data).is_err() {
                self.bad_records += 1;
                self.reader = None;
                break;
            }
            if data.len() > batch.max_frame() {
                self.truncated += 1;
            }
            batch.push(&data);
            n += 1;
        }
        Ok(n)
    }

    fn tx(&mut self, batch: &FrameBatch, which: &[u16]) -> Result<usize, IoError> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(0);
        };
        for &i in which {
            let f = batch.frame(i as usize);
            let mut rec = Vec::with_capacity(16 + f.len());
            rec.extend_from_slice(&[0; 8]);
            rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
            rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
            rec.extend_from_slice(f);
            w.write_all(&rec).map_err(|e| io_err("pcap output", e))?;
        }
        Ok(which.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let dir = std::env::temp_dir().join(format!("savin-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.pcap");
        let mut out = PcapPort::open(None, Some(&path)).unwrap();
        let mut b = FrameBatch::with_capacity(4);
        b.push(&[1u8; 60]);
        b.push(&[2u8; 1514]);
        assert_eq!(out.tx(&b, &[0, 1]).unwrap(), 2);
        out.flush().unwrap();
        drop(out);
        let mut inp = PcapPort::open(Some(&path), None).unwrap();
        let mut got = FrameBatch::with_capacity(4);
        assert_eq!(inp.rx(&mut got).unwrap(), 2);
        assert_eq!(got.frame(1), &[2u8; 1514][..]);
        assert_eq!(inp.rx(&mut got).unwrap(), 0);
        std::fs::write(dir.join("junk.pcap"), b"not a capture at all, no").unwrap();
        assert!(PcapPort::open(Some(&dir.join("junk.pcap")), None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
