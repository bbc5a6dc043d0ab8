//! Switching: VLAN classification, MAC learning, forwarding to a member or flooding, and
//! frames an IRB sends into its VLAN.

use super::*;

impl<F: Feature> Pipeline<F> {
    /// Starts loading the MAC table slots (source and destination) of frame `i`, a few frames
    /// before it is switched, so the switching stage does not wait on the cache.
    #[inline(always)]
    pub(crate) fn prefetch_fdb(&self, batch: &FrameBatch, i: usize, mode: PortMode) {
        let f = batch.frame(i);
        if f.len() >= 18 {
            let tag = (u16::from_be_bytes([f[12], f[13]]) == ETHERTYPE_VLAN)
                .then(|| u16::from_be_bytes([f[14], f[15]]) & 0x0fff);
            if let Some(vid) = crate::bridge::port_vlan(mode, tag) {
                self.fdb.prefetch(vid, &f[6..12]);
                self.fdb.prefetch(vid, &f[..6]);
            }
        }
    }

    /// Switches frame `i` from `port` (an access or trunk port). Returns the IRB slot when the
    /// frame is for the VLAN's routed interface (its tag removed, ready for the IP stages);
    /// None when the frame was switched, flooded or dropped here.
    #[inline]
    pub(crate) fn switch(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        port: u16,
        mode: PortMode,
        l2: &L2Tables,
    ) -> Option<u16> {
        let f = batch.frame(i);
        let tagged = f.len() >= 18 && u16::from_be_bytes([f[12], f[13]]) == ETHERTYPE_VLAN;
        let tag = tagged.then(|| u16::from_be_bytes([f[14], f[15]]) & 0x0fff);
        let Some(vid) = classify(mode, tag, l2, port) else {
            self.counters.drop(DropReason::VlanNotAllowed);
            return None;
        };
        // The port's input filters (family ethernet-switching), before the frame is learnt.
        if !self.l2_input_arc(batch.frame(i), port, vid) {
            return None;
        }
        let f = batch.frame(i);
        let info = l2.vlan(vid)?;
        self.fdb
            .learn(vid, &f[6..12], port, self.now_ms, info.mac_limit);
        if let Some((irb, mac)) = info.irb {
            if f[..6] == mac {
                if tagged {
                    batch.pop_vlan(i);
                }
                return Some(irb);
            }
        }
        if f[0] & 1 != 0 {
            // Broadcast and multicast: every other port of the VLAN, and the IRB (ARP, ND),
            // past the IRB's and lo0's input filters for IP.
            if let Some((irb, _)) = info.irb {
                self.meta.in_port[i] = irb;
                if self.link_to_box_arc(batch, i) {
                    self.punt.push((i as u16, PuntReason::Host));
                }
            }
            self.flood(batch, i, vid, port, info, tagged);
            return None;
        }
        match self.fdb.lookup(vid, &f[..6]) {
            Some(out) if out == port => self.counters.drop(DropReason::SamePort),
            Some(out) => self.send_to_member(batch, i, vid, port, out, info, tagged),
            None => self.flood(batch, i, vid, port, info, tagged),
        }
        None
    }

    /// Sends frame `i` of VLAN `vid` (from `port`) out of member port `out`, tagged as that
    /// port wants.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn send_to_member(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        vid: u16,
        port: u16,
        out: u16,
        info: &VlanInfo,
        tagged: bool,
    ) {
        let Some(want) = info.member(out) else {
            self.counters.drop(DropReason::VlanNotAllowed);
            return;
        };
        if !self.l2_output_arc(batch.frame(i), port, out, vid) {
            return;
        }
        let ok = match (tagged, want) {
            (true, false) => batch.pop_vlan(i),
            (false, true) => batch.push_vlan(i, vid),
            _ => true,
        };
        match self.tx.get_mut(usize::from(out)) {
            Some(l) if ok => {
                l.push(i as u16);
                self.counters.bridged += 1;
            }
            _ => self.counters.drop(DropReason::Unresolved),
        }
    }

    /// Sends frame `i` to every member of VLAN `vid` but `ingress`: the frame itself where the
    /// port wants it as it is, one copy with the tag added or removed where it does not.
    pub(crate) fn flood(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        vid: u16,
        ingress: u16,
        info: &VlanInfo,
        tagged: bool,
    ) {
        let mut copy: Option<u16> = None;
        for &(m, want) in &info.members {
            if m == ingress || usize::from(m) >= self.tx.len() {
                continue;
            }
            if !self.l2_output_arc(batch.frame(i), ingress, m, vid) {
                continue;
            }
            if want == tagged {
                self.tx[usize::from(m)].push(i as u16);
                continue;
            }
            let c = match copy {
                Some(c) => c,
                None => {
                    let c = self.extra.len();
                    if !self.extra.push_from(batch, i) {
                        self.counters.drop(DropReason::TxFull);
                        continue;
                    }
                    let ok = if tagged {
                        self.extra.pop_vlan(c)
                    } else {
                        self.extra.push_vlan(c, vid)
                    };
                    if !ok {
                        continue;
                    }
                    copy = Some(c as u16);
                    c as u16
                }
            };
            self.tx_extra[usize::from(m)].push(c);
        }
        self.counters.flooded += 1;
    }

    /// A routed or injected frame (untagged, addressed) leaving by IRB `irb` of VLAN `vid`:
    /// to the port that has its destination MAC, or flooded in the VLAN.
    pub fn bridge_out(
        &mut self,
        batch: &mut FrameBatch,
        i: usize,
        irb: u16,
        vid: u16,
        l2: &L2Tables,
    ) {
        let Some(info) = l2.vlan(vid) else {
            self.counters.drop(DropReason::Unresolved);
            return;
        };
        match self.fdb.lookup(vid, &batch.frame(i)[..6]) {
            Some(out) => self.send_to_member(batch, i, vid, irb, out, info, false),
            None => self.flood(batch, i, vid, irb, info, false),
        }
    }
}
