//! Decoding N bytes allocates at most a bounded multiple of N: inputs that
//! make a few bytes into a lot of memory (empty sub-messages, empty groups,
//! map entries, unknown fields, packed runs), decoded under a counting
//! allocator that tracks the peak of live heap bytes on this thread.
//!
//! Each case checks two things: under the default budget the peak stays
//! within the documented bound (`4 · budget + 5 · N` bytes, budget =
//! 32 · N + 1 MiB; README "Memory budgets"); an input that amplifies is
//! refused, and without a budget it takes more than the budget (so the
//! budget is what holds it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use protocall::reflect::{DynamicMessage, ReflectMessage};
use protocall::{DecodeErrorKind, DecodeOptions, Message};
use protocall_tests::protocall::test::Everything;
use protocall_tests::protocall::test2::Legacy;

/// Counts live heap bytes, and their peak, per thread (so tests running
/// side by side do not see each other's allocations).
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    // `try_with`: the allocator also runs while thread locals are torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A realloc may move: count old and new as live at once.
        add(new_size as isize);
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        add(-(layout.size() as isize));
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak of live bytes above the starting level while `f` runs.
fn peak_of<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get) - start;
    (peak as usize, out)
}

/// The default budget for `n` input bytes.
fn default_budget(n: usize) -> usize {
    DecodeOptions::DEFAULT_BUDGET_PER_BYTE * n + DecodeOptions::DEFAULT_BUDGET_BASE
}

/// What README "Memory budgets" promises for `n` input bytes under the
/// default budget.
fn bound(n: usize) -> usize {
    4 * default_budget(n) + 5 * n
}

/// No budget to speak of.
const UNLIMITED: DecodeOptions = DecodeOptions::new().memory_budget(0, usize::MAX);

/// Decodes `input` as `M` under the default options and without a budget;
/// returns the two peaks and whether the default decode ran out of budget.
fn measure<M: Message>(input: &[u8]) -> (usize, usize, bool) {
    let (bounded, result) = peak_of(|| DecodeOptions::new().decode::<M, _>(input).map(drop));
    let refused = match result {
        Ok(()) => false,
        Err(e) if e.kind() == &DecodeErrorKind::MemoryBudget => true,
        Err(e) => panic!("{}: {e}", M::FULL_NAME),
    };
    let (unbounded, result) = peak_of(|| UNLIMITED.decode::<M, _>(input).map(drop));
    result.unwrap_or_else(|e| panic!("{} without a budget: {e}", M::FULL_NAME));
    (bounded, unbounded, refused)
}

/// An amplifying input: refused under the default budget, within the bound
/// while refusing, and past the budget without it.
fn assert_held<M: Message>(what: &str, input: &[u8]) {
    let n = input.len();
    let (bounded, unbounded, refused) = measure::<M>(input);
    eprintln!(
        "{what}: {n} bytes, peak {bounded} bytes with the default budget \
         ({:.1} per input byte), {unbounded} without ({:.1} per byte)",
        bounded as f64 / n as f64,
        unbounded as f64 / n as f64
    );
    assert!(refused, "{what}: the default budget let it through");
    assert!(
        bounded <= bound(n),
        "{what}: peak {bounded} > bound {}",
        bound(n)
    );
    assert!(
        unbounded > default_budget(n),
        "{what}: without a budget the peak {unbounded} stays within the budget {} (the input does not amplify)",
        default_budget(n)
    );
}

/// Input that stays within bounded amplification whether budgeted or not:
/// decodes under the default budget within the bound.
fn assert_within<M: Message>(what: &str, input: &[u8]) {
    let n = input.len();
    let (bounded, _, refused) = measure::<M>(input);
    eprintln!(
        "{what}: {n} bytes, peak {bounded} bytes ({:.1} per input byte)",
        bounded as f64 / n as f64
    );
    assert!(!refused, "{what}: refused, but it does not amplify");
    assert!(
        bounded <= bound(n),
        "{what}: peak {bounded} > bound {}",
        bound(n)
    );
}

fn key(number: u32, wire_type: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut v = (u64::from(number) << 3) | u64::from(wire_type);
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

/// `count` copies of `record`.
fn repeat(record: &[u8], count: usize) -> Vec<u8> {
    record.repeat(count)
}

/// Records per input: enough to pass the budget's 1 MiB base many times.
const COUNT: usize = 1 << 18;

#[test]
fn repeated_empty_messages() {
    // Everything.children (91): three bytes each, a whole Everything each
    let mut record = key(91, 2);
    record.push(0);
    assert!(std::mem::size_of::<Everything>() > 1000);
    assert_held::<Everything>("repeated empty Everything", &repeat(&record, COUNT / 4));
}

#[test]
fn repeated_empty_groups() {
    // Legacy.Entry (30): a start key and an end key, a whole entry each
    let mut record = key(30, 3);
    record.extend(key(30, 4));
    let mut input = required_legacy_fields();
    input.extend(repeat(&record, COUNT));
    assert_held::<Legacy>("repeated empty groups", &input);
}

#[test]
fn groups_boxing_empty_messages() {
    // Legacy.Entry (30) groups, each holding an empty Legacy in `nested`
    // (32, boxed): seven bytes, an entry and a boxed Legacy each
    let mut record = key(30, 3);
    record.extend(key(32, 2));
    record.push(0);
    record.extend(key(30, 4));
    let mut input = required_legacy_fields();
    input.extend(repeat(&record, COUNT / 2));
    assert_held::<Legacy>("entries boxing empty messages", &input);
}

#[test]
fn maps_of_empty_entries() {
    // Everything.m_string_nested (62): distinct two-byte keys, empty values
    let mut input = Vec::new();
    for i in 0..COUNT as u32 {
        let k = format!("{:x}", i);
        input.extend(key(62, 2));
        input.push((2 + k.len()) as u8);
        input.push(0x0a);
        input.push(k.len() as u8);
        input.extend(k.as_bytes());
    }
    assert_within::<Everything>("map<string, Nested> of empty values", &input);
    // Everything.m_fixed64_nested (58): empty entries (the same default
    // key over and over)
    let mut record = key(58, 2);
    record.push(0);
    assert_within::<Everything>("map of empty entries", &repeat(&record, COUNT));
}

#[test]
fn huge_unknown_field_counts() {
    // field 1000 varint 0, two bytes... three with the key: kept as bytes
    let mut record = key(1000, 0);
    record.push(0);
    assert_within::<Everything>("unknown varints", &repeat(&record, COUNT));
    // unknown empty groups, nested one deep
    let mut record = key(1001, 3);
    record.extend(key(1002, 3));
    record.extend(key(1002, 4));
    record.extend(key(1001, 4));
    assert_within::<Everything>("unknown nested empty groups", &repeat(&record, COUNT));
}

#[test]
fn packed_and_repeated_scalars() {
    // packed int64 of one-byte values: eight bytes each in memory
    let values = vec![1u8; 4 * COUNT];
    let mut input = key(22, 2);
    let mut len = values.len();
    while len >= 0x80 {
        input.push((len as u8) | 0x80);
        len >>= 7;
    }
    input.push(len as u8);
    input.extend(&values);
    assert_within::<Everything>("packed one-byte int64s", &input);
    // unpacked empty strings: three bytes each, a String each
    let mut record = key(34, 2);
    record.push(0);
    assert_within::<Everything>("empty strings", &repeat(&record, COUNT));
}

#[test]
fn dynamic_messages_are_budgeted() {
    let mut record = key(91, 2);
    record.push(0);
    let input = repeat(&record, COUNT / 4);
    let descriptor = Everything::descriptor();
    let (peak, result) = peak_of(|| {
        let mut message = DynamicMessage::new(descriptor.clone());
        message.merge_with(&input, &DecodeOptions::new().memory_budget(1, 0))
    });
    let err = result.unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::MemoryBudget);
    let path: Vec<_> = err.path().collect();
    assert_eq!(path, [("protocall.test.Everything", "children")]);
    let budget = input.len() * DynamicMessage::BUDGET_SCALE;
    assert!(peak <= 4 * budget + 5 * input.len(), "peak {peak}");
    // the default budget takes the same input: each empty message is one
    // Value, within eight times the generated budget
    let mut message = DynamicMessage::new(descriptor);
    message.merge(&input).unwrap();
}

#[test]
fn json_parse_is_budgeted() {
    // `{}` three bytes each (with the comma), a whole Everything each
    let count = COUNT / 8;
    let json = format!(r#"{{"children":[{}{{}}]}}"#, "{},".repeat(count - 1));
    let options = protocall::json::Options::new();
    let (peak, result) = peak_of(|| protocall::json::from_str::<Everything>(&json, &options));
    let err = result.unwrap_err();
    assert!(err.message().contains("budget"), "{err}");
    assert_eq!(err.path(), ".children");
    // the JSON turns into binary first (at most as long as the JSON here,
    // twice that with its buffer's growth), then decodes under the bound
    assert!(
        peak <= bound(json.len()) + 3 * json.len(),
        "peak {peak} > bound {}",
        bound(json.len())
    );
    let unlimited = options.memory_budget(0, usize::MAX);
    let parsed = protocall::json::from_str::<Everything>(&json, &unlimited).unwrap();
    assert_eq!(parsed.children.len(), count);
}

#[test]
fn a_dynamic_json_parse_past_its_budget_names_the_json_path() {
    let json = format!(r#"{{"child":{{"rNested":[{}{{}}]}}}}"#, "{},".repeat(999));
    let options = protocall::json::Options::new().memory_budget(1, 0);
    let err = DynamicMessage::from_json(Everything::descriptor(), &json, &options).unwrap_err();
    assert_eq!(err.path(), ".child.rNested", "{err}");
    assert!(err.message().contains("budget"), "{err}");
    let err = protocall::json::from_str::<Everything>(&json, &options).unwrap_err();
    assert_eq!(err.path(), ".child.rNested", "{err}");
}

#[test]
fn legitimate_messages_fit_the_default_budget() {
    // a dense message: every field of Everything set, a thousand times
    let mut child = Everything {
        r_string: vec!["x".into(); 10],
        r_int64: (0..100).collect(),
        ..Default::default()
    };
    child.m_int64_int64.extend((0..50).map(|i| (i, i)));
    let message = Everything {
        children: vec![child; 1000],
        ..Default::default()
    };
    let bytes = message.encode_to_vec();
    let back = DecodeOptions::new()
        .decode::<Everything, _>(bytes.as_slice())
        .unwrap();
    assert_eq!(back, message);
}

/// Legacy's required fields, so a decode is complete.
fn required_legacy_fields() -> Vec<u8> {
    let mut out = key(1, 0);
    out.push(1);
    out.extend(key(2, 2));
    out.push(0);
    out.extend(key(60, 0));
    out.push(1);
    out
}
