//! Writing a model file: header, postcard payload, CRC-32; then reading it back to validate.

use postcard::ser_flavors::Size;

use super::spec::ModelSpec;
use super::{CHECKSUM_LEN, CRC32, FORMAT_VERSION, HEADER_LEN, Limit, MAGIC, Model, ModelError};

/// Bytes the file for `spec` takes.
///
/// # Errors
/// [`ModelError::Malformed`] if postcard cannot encode `spec` (it always can),
/// [`ModelError::TooLarge`] with [`Limit::FileBytes`] for a payload over 4 GiB.
pub fn encoded_len(spec: &ModelSpec<'_>) -> Result<usize, ModelError> {
    let payload = payload_len(spec)?;
    payload
        .checked_add(HEADER_LEN + CHECKSUM_LEN)
        .ok_or(ModelError::TooLarge {
            what: Limit::FileBytes,
        })
}

/// Payload bytes of `spec`.
fn payload_len(spec: &ModelSpec<'_>) -> Result<usize, ModelError> {
    let payload =
        postcard::serialize_with_flavor::<ModelSpec<'_>, Size, usize>(spec, Size::default())
            .map_err(|_| ModelError::Malformed)?;
    if u32::try_from(payload).is_err() {
        return Err(ModelError::TooLarge {
            what: Limit::FileBytes,
        });
    }
    Ok(payload)
}

/// Writes the model file for `spec` into the start of `out` and returns its length; then parses
/// the written bytes, so whatever [`Model::parse`] would refuse is refused here, with the same
/// error. Works in `no_std` (no allocation); the exporter calls it with a `Vec` of
/// [`encoded_len`] bytes.
///
/// # Errors
/// [`ModelError::BufferTooSmall`] if `out` is shorter than [`encoded_len`]; any validation error
/// of [`Model::parse`] for an inconsistent `spec` (bytes were written all the same).
pub fn encode(spec: &ModelSpec<'_>, out: &mut [u8]) -> Result<usize, ModelError> {
    let payload = payload_len(spec)?;
    let total = encoded_len(spec)?;
    let provided = out.len();
    let file = out.get_mut(..total).ok_or(ModelError::BufferTooSmall {
        needed: total,
        provided,
    })?;
    let (header, rest) = file
        .split_at_mut_checked(HEADER_LEN)
        .ok_or(ModelError::Truncated)?;
    let (body, checksum) = rest
        .split_at_mut_checked(payload)
        .ok_or(ModelError::Truncated)?;
    let payload_u32 = u32::try_from(payload).map_err(|_| ModelError::TooLarge {
        what: Limit::FileBytes,
    })?;
    let header_bytes = MAGIC
        .into_iter()
        .chain(FORMAT_VERSION.to_le_bytes())
        .chain(payload_u32.to_le_bytes());
    for (byte, value) in header.iter_mut().zip(header_bytes) {
        *byte = value;
    }
    postcard::to_slice(spec, body).map_err(|_| ModelError::Malformed)?;
    let crc = {
        let mut digest = CRC32.digest();
        digest.update(header);
        digest.update(body);
        digest.finalize()
    };
    for (byte, value) in checksum.iter_mut().zip(crc.to_le_bytes()) {
        *byte = value;
    }
    Model::parse(file)?;
    Ok(total)
}
