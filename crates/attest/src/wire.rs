//! Big-endian TPM wire format: a strict reader and a small writer.

use crate::error::{Error, Result};

/// A cursor over TPM-marshalled bytes. Every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Start reading `buf` from its first byte.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Current offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Take `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(Error::Truncated {
                what,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Read one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// Read a big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Read a big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Read a big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Read a TPM2B (u16 size followed by that many bytes), with an upper bound on the size.
    pub fn tpm2b(&mut self, what: &'static str, max: usize) -> Result<&'a [u8]> {
        let size = self.u16(what)? as usize;
        if size > max {
            return Err(Error::SizeOutOfRange { what, size, max });
        }
        self.take(size, what)
    }

    /// Fail unless every byte was consumed.
    pub fn finish(&self, what: &'static str) -> Result<()> {
        if self.remaining() != 0 {
            return Err(Error::TrailingBytes {
                what,
                count: self.remaining(),
            });
        }
        Ok(())
    }
}

/// Append a big-endian u16.
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian u32.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a TPM2B: u16 size then the bytes. Fails if longer than 65535 bytes.
pub fn put_tpm2b(out: &mut Vec<u8>, what: &'static str, data: &[u8]) -> Result<()> {
    let n = u16::try_from(data.len()).map_err(|_| Error::SizeOutOfRange {
        what,
        size: data.len(),
        max: u16::MAX as usize,
    })?;
    put_u16(out, n);
    out.extend_from_slice(data);
    Ok(())
}

/// Wrap bytes as a TPM2B (u16 size prefix).
pub fn tpm2b(what: &'static str, data: &[u8]) -> Result<Vec<u8>> {
    let mut v = Vec::with_capacity(data.len() + 2);
    put_tpm2b(&mut v, what, data)?;
    Ok(v)
}

/// Strip a TPM2B size prefix, requiring the size to cover exactly the rest of `data`.
pub fn untpm2b<'a>(what: &'static str, data: &'a [u8]) -> Result<&'a [u8]> {
    let mut r = Reader::new(data);
    let inner = r.tpm2b(what, u16::MAX as usize)?;
    r.finish(what)?;
    Ok(inner)
}

/// A little-endian cursor for the event-log formats (TCG firmware logs, IMA lists): every read is
/// bounds-checked and a short read says where it started, what was read and how much is missing.
#[derive(Debug, Clone)]
pub(crate) struct LeReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A short read of a [`LeReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    /// Offset where the read started.
    pub offset: usize,
    /// The field.
    pub what: &'static str,
    /// Bytes missing.
    pub needed: usize,
}

impl<'a> LeReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        LeReader { buf, pos: 0 }
    }
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }
    pub(crate) fn take(
        &mut self,
        n: usize,
        what: &'static str,
    ) -> std::result::Result<&'a [u8], Short> {
        let rem = self.buf.len() - self.pos;
        if rem < n {
            return Err(Short {
                offset: self.pos,
                what,
                needed: n - rem,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub(crate) fn u8(&mut self, what: &'static str) -> std::result::Result<u8, Short> {
        Ok(self.take(1, what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> std::result::Result<u16, Short> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> std::result::Result<u32, Short> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}
