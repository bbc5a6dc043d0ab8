//! The message header (RFC 4271 §4.1) and its errors (§6.1).

use super::{
    len_data, Notification, HEADER_LEN, MAX_LEN, MSG_KEEPALIVE, MSG_NOTIFICATION, MSG_OPEN,
    MSG_ROUTE_REFRESH, MSG_UPDATE,
};

/// Splits a byte stream: `Ok(Some(len))` when `buf` starts with a complete message of `len`
/// bytes, `Ok(None)` when more bytes are needed, `Err` with the NOTIFICATION to send for a bad
/// header: a marker not all ones (1/1), a length out of range or wrong for the type (1/2, the
/// length as data), an unknown type (1/3, the type as data).
pub fn frame(buf: &[u8]) -> Result<Option<usize>, Notification> {
    // The marker is checked as far as it has arrived, so garbage is refused at once.
    let marker = buf.get(..16).unwrap_or(buf);
    if marker.iter().any(|&b| b != 0xff) {
        return Err(Notification::new(1, 1, Vec::new()));
    }
    let Some(&[hi, lo, ty]) = buf.get(16..HEADER_LEN) else {
        return Ok(None);
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    check_len(len, ty)?;
    Ok((buf.len() >= len).then_some(len))
}

/// Validates the header of one whole message and returns its type.
pub(crate) fn check(msg: &[u8]) -> Result<u8, Notification> {
    match frame(msg)? {
        Some(len) if len == msg.len() => Ok(msg.get(18).copied().unwrap_or(0)),
        // A message that is not exactly as long as its header says.
        _ => {
            let declared = msg
                .get(16..18)
                .map_or(msg.len(), |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            Err(Notification::new(1, 2, len_data(declared)))
        }
    }
}

/// RFC 4271 §6.1: the bounds first, then the type, then the type's own minimum.
fn check_len(len: usize, ty: u8) -> Result<(), Notification> {
    let bad_len = || Notification::new(1, 2, len_data(len));
    if !(HEADER_LEN..=MAX_LEN).contains(&len) {
        return Err(bad_len());
    }
    let ok = match ty {
        MSG_OPEN => len >= HEADER_LEN + 10,
        MSG_UPDATE => len >= HEADER_LEN + 4,
        MSG_NOTIFICATION => len >= HEADER_LEN + 2,
        MSG_KEEPALIVE => len == HEADER_LEN,
        MSG_ROUTE_REFRESH => len >= HEADER_LEN + 4,
        _ => return Err(Notification::new(1, 3, vec![ty])),
    };
    if ok {
        Ok(())
    } else {
        Err(bad_len())
    }
}
