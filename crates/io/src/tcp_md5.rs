//! TCP MD5 signatures (RFC 2385) on a socket: the key Linux signs and checks a BGP session's
//! segments with. Set on the listening socket (one key per neighbour address) and on an
//! outgoing socket before it connects.

use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

/// The key length Linux takes at most (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` from `<linux/tcp.h>`: the peer's address as a `sockaddr_storage`,
/// flags, prefix length, key length, interface index, key.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

/// Sets (`Some`) or removes (`None`) the MD5 key for segments to and from `peer` on `fd`.
pub fn set_key(fd: RawFd, peer: IpAddr, key: Option<&[u8]>) -> io::Result<()> {
    let key = key.unwrap_or_default();
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("an MD5 key is at most {MAX_KEY_LEN} bytes"),
        ));
    }
    // SAFETY: all-zero bytes are a valid sockaddr_storage (an AF_UNSPEC address).
    let mut sig = TcpMd5Sig {
        addr: unsafe { std::mem::zeroed() },
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    let storage: *mut libc::sockaddr_storage = &mut sig.addr;
    match peer {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr; the
            // pointer comes from a live, exclusively borrowed field.
            let sin = unsafe { &mut *(storage as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
        }
        IpAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *(storage as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
        }
    }
    // SAFETY: `sig` is a properly laid out tcp_md5sig that lives across the call, and the
    // length passed is its size; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&sig as *const TcpMd5Sig).cast(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
