//! Removal from a linear-probing hash table without tombstones, shared by the tables that
//! probe linearly (the session index, the MAC table, the screens' session counts).

/// Knuth's Algorithm R (TAOCP 6.4): after the entry at slot `i` is removed, later entries of
/// its cluster move back into the hole unless their home slot lies cyclically in (hole, j],
/// so every lookup still finds what it probes for. `home(t, j)` is the home slot of the entry
/// in slot `j` (None: the slot is empty and the cluster ends); `shift(t, from, to)` moves an
/// entry. Returns the slot left empty, for the caller to clear.
pub fn close_hole<T: ?Sized>(
    t: &mut T,
    mask: usize,
    mut i: usize,
    home: impl Fn(&T, usize) -> Option<usize>,
    mut shift: impl FnMut(&mut T, usize, usize),
) -> usize {
    let mut j = i;
    loop {
        j = (j + 1) & mask;
        let Some(h) = home(t, j) else {
            return i;
        };
        let stays = if i <= j {
            i < h && h <= j
        } else {
            i < h || h <= j
        };
        if !stays {
            shift(t, j, i);
            i = j;
        }
    }
}
