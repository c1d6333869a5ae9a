//! [`CallArena`]: a bump allocator for plugins, which live for exactly one call.
//!
//! The host instantiates a plugin afresh for every call and throws the instance away afterwards, so
//! freeing memory inside a call buys little: a bump allocator is enough and much cheaper than the
//! general-purpose `malloc` (which also has to initialise itself on every call, in every fresh instance).
//! For the semver strategy deciding among 100 tags it saved ~2 µs of a ~23 µs call.

// The allocator has to hand out raw pointers.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::ptr;

/// Size of the arena: zero-initialised memory in the component's initial linear memory, so untouched
/// pages cost nothing.
const ARENA_BYTES: usize = 256 << 10;

#[repr(C, align(16))]
struct Arena {
    bytes: UnsafeCell<[u8; ARENA_BYTES]>,
    /// Offset of the first free byte.
    next: Cell<usize>,
    /// Offset of the most recent allocation, the only one that is freed or grown in place.
    last: Cell<usize>,
}

// SAFETY: this module is only compiled for wasm32 without the `atomics` target feature, where there is
// exactly one thread: the cells are never accessed concurrently.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena {
    bytes: UnsafeCell::new([0; ARENA_BYTES]),
    next: Cell::new(0),
    last: Cell::new(0),
};

/// A bump allocator for plugins: allocations come from a 256 KiB arena; freeing reclaims only the most
/// recent allocation (and a `Vec` or `String` growing at the end grows in place). When the arena is full,
/// allocations fall back to the system allocator, so a call that allocates a lot still works; it just
/// stops being faster. Opt in from a plugin crate with
///
/// ```text
/// #[cfg(target_arch = "wasm32")]
/// #[global_allocator]
/// static ALLOC: sdmd_plugin::CallArena = sdmd_plugin::CallArena;
/// ```
///
/// Best for plugins whose calls allocate little and briefly (strategies, notifiers); a plugin that
/// allocates and frees many megabytes within one call is better served by the default allocator.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallArena;

impl CallArena {
    fn base() -> *mut u8 {
        ARENA.bytes.get().cast()
    }

    /// The offset of `ptr` in the arena, if it points into it.
    fn offset(ptr: *mut u8) -> Option<usize> {
        let offset = (ptr as usize).wrapping_sub(Self::base() as usize);
        (offset < ARENA_BYTES).then_some(offset)
    }

    /// Whether `offset..offset + size` is the most recent allocation, still live.
    fn is_last(offset: usize, size: usize) -> bool {
        offset == ARENA.last.get() && offset + size == ARENA.next.get()
    }

    fn bump(layout: Layout) -> Option<*mut u8> {
        let base = Self::base() as usize;
        let start = (base + ARENA.next.get()).checked_next_multiple_of(layout.align())? - base;
        let end = start.checked_add(layout.size())?;
        if end > ARENA_BYTES {
            return None;
        }
        ARENA.last.set(start);
        ARENA.next.set(end);
        // SAFETY: `start + size <= ARENA_BYTES`, so the block lies inside the arena.
        Some(unsafe { Self::base().add(start) })
    }
}

// SAFETY: blocks handed out never overlap (`next` only moves back over the most recent block, when that
// block is freed or resized), are aligned as asked (`start` is rounded up on the absolute address), and
// stay valid until freed; foreign pointers go to the system allocator that made them.
unsafe impl GlobalAlloc for CallArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match Self::bump(layout) {
            Some(p) => p,
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match Self::offset(ptr) {
            Some(offset) => {
                if Self::is_last(offset, layout.size()) {
                    ARENA.next.set(offset);
                }
            }
            // SAFETY: not ours, so the system allocator made it with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Some(offset) = Self::offset(ptr)
            && Self::is_last(offset, layout.size())
            && offset
                .checked_add(new_size)
                .is_some_and(|end| end <= ARENA_BYTES)
        {
            ARENA.next.set(offset + new_size);
            return ptr;
        }
        // SAFETY: the caller guarantees that `new_size`, rounded up to `layout.align()`, does not
        // overflow `isize`, which is what `Layout` requires.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size (the caller's guarantee for `new_size`).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the copied length and distinct (`ptr` is still live).
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}
