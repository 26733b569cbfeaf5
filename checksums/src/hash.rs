//! Streaming SHA-256: digests of readers and files, and adapters that hash data in passing.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::Error;

/// Size of the buffer used when hashing a whole reader. Large enough that the per-call
/// overhead disappears next to the hashing itself.
const BUFFER_SIZE: usize = 256 * 1024;

/// A SHA-256 digest: 32 bytes, shown as 64 lowercase hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Wraps 32 raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest of a byte slice held in memory.
    pub fn of_bytes(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Parses 64 lowercase hexadecimal characters, the form `sha256sum` writes.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidDigest {
            value: text.to_owned(),
        };
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| invalid())?;
        Ok(Self(bytes))
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hexadecimal characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

impl FromStr for Sha256Digest {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::from_hex(text)
    }
}

/// Hashes everything a reader yields until its end.
pub fn sha256_reader<R: Read>(reader: R) -> io::Result<Sha256Digest> {
    let mut hashing = HashingReader::new(reader);
    io::copy(&mut hashing, &mut io::sink())?;
    Ok(hashing.digest())
}

/// Hashes the contents of a file, reading it in large blocks.
pub fn sha256_file(path: &Path) -> Result<Sha256Digest, Error> {
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    loop {
        let count = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(read_error(error)),
        };
        hasher.update(&buffer[..count]);
    }
    Ok(Sha256Digest(hasher.finalize().into()))
}

/// A reader that hashes every byte it passes on, so data can be checked while it streams
/// somewhere else (for example a tar member on its way to the Docker Engine).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> HashingReader<R> {
    /// Wraps a reader; nothing has been hashed yet.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// How many bytes have passed so far.
    pub fn byte_count(&self) -> u64 {
        self.bytes
    }

    /// The digest of the bytes that have passed so far.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest(self.hasher.clone().finalize().into())
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Gives back the wrapped reader and the digest of what passed.
    pub fn finish(self) -> (R, Sha256Digest) {
        let digest = Sha256Digest(self.hasher.finalize().into());
        (self.inner, digest)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..count]);
        self.bytes += count as u64;
        Ok(count)
    }
}

/// A writer that hashes every byte the wrapped writer accepts, so a file can be written and
/// hashed in one pass.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    /// Wraps a writer; nothing has been hashed yet.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// How many bytes have been written so far.
    pub fn byte_count(&self) -> u64 {
        self.bytes
    }

    /// The digest of the bytes written so far.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest(self.hasher.clone().finalize().into())
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Gives back the wrapped writer and the digest of what was written. The writer is not
    /// flushed; flush before finishing when it buffers.
    pub fn finish(self) -> (W, Sha256Digest) {
        let digest = Sha256Digest(self.hasher.finalize().into());
        (self.inner, digest)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Only the part the inner writer took is hashed, so a short write stays consistent.
        let count = self.inner.write(data)?;
        self.hasher.update(&data[..count]);
        self.bytes += count as u64;
        Ok(count)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SHA-256 of the empty input, a published test vector.
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /// The SHA-256 of `abc`, a published test vector.
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn digests_match_published_vectors() {
        assert_eq!(Sha256Digest::of_bytes(b"").to_hex(), EMPTY);
        assert_eq!(Sha256Digest::of_bytes(b"abc").to_hex(), ABC);
        assert_eq!(sha256_reader(&b"abc"[..]).unwrap().to_hex(), ABC);
    }

    #[test]
    fn file_digest_matches_memory_digest_across_buffer_boundaries() {
        let data: Vec<u8> = (0..BUFFER_SIZE * 2 + 17).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, &data).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), Sha256Digest::of_bytes(&data));
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let error = sha256_file(Path::new("/nonexistent/jim/file.tar")).unwrap_err();
        assert_eq!(error.to_string(), "cannot read `/nonexistent/jim/file.tar`");
    }

    #[test]
    fn hashing_reader_passes_data_through_and_hashes_it() {
        let mut reader = HashingReader::new(&b"abc"[..]);
        let mut copy = Vec::new();
        reader.read_to_end(&mut copy).unwrap();
        assert_eq!(copy, b"abc");
        assert_eq!(reader.byte_count(), 3);
        assert_eq!(reader.digest().to_hex(), ABC);
        assert_eq!(reader.finish().1.to_hex(), ABC);
    }

    #[test]
    fn hashing_writer_hashes_what_it_writes() {
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"a").unwrap();
        writer.write_all(b"bc").unwrap();
        assert_eq!(writer.byte_count(), 3);
        let (inner, digest) = writer.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(digest.to_hex(), ABC);
    }

    #[test]
    fn hex_parsing_is_strict() {
        assert_eq!(Sha256Digest::from_hex(ABC).unwrap().to_hex(), ABC);
        assert!(Sha256Digest::from_hex(&ABC.to_uppercase()).is_err());
        assert!(Sha256Digest::from_hex(&ABC[1..]).is_err());
        assert!(Sha256Digest::from_hex(&format!("{}g", &ABC[1..])).is_err());
        let error = Sha256Digest::from_hex("xyz").unwrap_err();
        assert!(error.to_string().contains("`xyz`"), "{error}");
    }
}
