//! Memory per agent and per open call thread, measured with a counting global
//! allocator around the reducer fed with realistic events (issue targets:
//! under 256 bytes per agent, under 1 KiB per open call thread).
//!
//! Run: `cargo bench -p ctistream-benches --bench state_memory`.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};

use ctistream_core::state::{NoOutputs, Reducer};
use ctistream_core::{Decoder, Format, Timestamp};

/// mimalloc, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to mimalloc with the caller's own arguments,
// so mimalloc's guarantees are the caller's; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: propagation of the caller's contract for `alloc`.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: propagation of the caller's contract for `dealloc`.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: propagation of the caller's contract for `realloc`.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn feed(reducer: &mut Reducer, decoder: &Decoder, record: &str) {
    let event = decoder.decode(record.as_bytes(), None).expect("valid record");
    reducer.apply(&event, Timestamp(0), &mut NoOutputs);
}

fn main() {
    const AGENTS: usize = 100_000;
    const CALLS: usize = 100_000;
    let decoder = Decoder::new(Format::Genesys);
    let mut reducer = Reducer::default();
    // Warm up the maps' first allocations so they are not charged to the first agents.
    feed(
        &mut reducer,
        &decoder,
        r#"{"id":"EventAgentReady","ThisDN":"1","AgentID":"w","CustomerID":"t1"}"#,
    );

    let before = live();
    for i in 0..AGENTS {
        let login = format!(
            r#"{{"id":"EventAgentLogin","ThisDN":"{}","AgentID":"agent{i:06}","ThisQueue":"Sales","CustomerID":"t1","time":"2026-11-20T09:00:00Z"}}"#,
            100_000 + i
        );
        feed(&mut reducer, &decoder, &login);
        let ready = login.replace("EventAgentLogin", "EventAgentReady");
        feed(&mut reducer, &decoder, &ready);
    }
    let per_agent = (live() - before) as f64 / AGENTS as f64;

    let before = live();
    for i in 0..CALLS {
        let dn = 100_000 + i % AGENTS;
        let ringing = format!(
            r#"{{"id":"EventRinging","CallThreadID":"ct-{i:07}","ConnID":"006c0246{i:08x}","CallUUID":"05B9PTFV4D1EJ{i:07}","ThisDN":"{dn}","ThisQueue":"Sales","OtherDN":"+14155550123","CallType":"Inbound","ANI":"+14155550123","DNIS":"8005550100","CustomerID":"t1","time":"2026-11-20T09:00:01Z"}}"#
        );
        feed(&mut reducer, &decoder, &ringing);
        let answered = ringing.replace("EventRinging", "EventEstablished");
        feed(&mut reducer, &decoder, &answered);
    }
    let per_call = (live() - before) as f64 / CALLS as f64;
    assert_eq!(reducer.calls().open(), CALLS);

    println!("state_memory: {AGENTS} agents, {CALLS} open call threads (one connected party each)");
    println!("bytes_per_agent={per_agent:.0} (target < 256)");
    println!("bytes_per_open_call={per_call:.0} (target < 1024)");
    println!(
        "struct sizes: AgentState={} bytes",
        std::mem::size_of::<ctistream_core::state::AgentState>()
    );
}
