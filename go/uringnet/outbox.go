package uringnet

import (
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// Write-behind. A Write of at most settings.writeBuf bytes copies them into
// the conn's outbox (C memory) and returns; the loop sends the outbox in
// order, one send op at a time. This is the role the kernel's socket buffer
// plays for package net: Write returns once its bytes are taken, not once
// they are sent, so a request/response server parks once per round trip
// (in Read) instead of twice.
//
//   - A send that fails after its Write returned is reported by the next
//     Write (as package net reports a reset the peer sent after a write).
//   - CloseWrite and Writes larger than writeBuf (sent from the caller's
//     memory) wait for the outbox to drain first, so bytes stay in order.
//   - Close sends what is queued before closing the socket, for at most
//     closeFlushTimeout, unless SetLinger(0) asked to discard it or the
//     peer sent data that was not read (closeConn): then Close resets.
//
// Memory: chunks are C memory from the ring's chunkPool. The outbox owns
// its chunks under c.mu. A chunk goes back to the pool only after the last
// CQE of the send that named it (or at teardown, when no op is in flight).

// Outbox chunks come in four sizes, so that a small Write holds 1 KiB (a
// ring keeps as many chunks as its conns ever held at once: 1,000 echo conns
// of 64 B held 3.3 MiB of 4 KiB chunks) and a large one needs one send op.
var chunkSizes = [...]uint32{1 << 10, 4 << 10, 16 << 10, 64 << 10}

// slabChunks is how many chunks one C allocation is carved into.
const slabChunks = 16

// maxPoolBytes is the most slab memory one ring keeps; beyond it, chunks
// are malloc'd singly and freed after use (a var for tests).
var maxPoolBytes = 64 << 20

// maxDirectSends is how many Writes between two Reads may send(2)
// themselves (a var for tests).
var maxDirectSends uint8 = 4

// closeFlushTimeout bounds how long a closed conn keeps sending what its
// Writes queued to a peer that does not read (a var for tests).
var closeFlushTimeout = 30 * time.Second

// outChunk is one piece of an outbox.
type outChunk struct {
	p      unsafe.Pointer // C memory, chunkSizes[class] bytes
	sent   uint32         // bytes from the start the kernel has taken
	filled uint32         // bytes written into the chunk
	class  uint8
	single bool // malloc'd on its own (the pool was at its cap): freed, not pooled
}

func (ch *outChunk) size() uint32 { return chunkSizes[ch.class] }

// nextChunk picks the class of a conn's next outbox chunk, for n more bytes
// after queued ones: at least as large as what is queued before it, so a
// conn that keeps writing while its sends are in flight gets larger chunks,
// and fewer send ops.
func nextChunk(queued, n int) uint8 { return chunkFor(max(n, queued)) }

// chunkFor picks the chunk size for n more bytes.
func chunkFor(n int) uint8 {
	for i, sz := range chunkSizes {
		if n <= int(sz) {
			return uint8(i)
		}
	}
	return uint8(len(chunkSizes) - 1)
}

// chunkPool recycles one ring's outbox chunks, carved from slabs of C
// memory that live until the ring closes (steady state calls no malloc).
// Any goroutine; mu protects the fields. Lock order: c.mu, then mu.
type chunkPool struct {
	mu     sync.Mutex
	free   [len(chunkSizes)][]unsafe.Pointer
	slabs  []unsafe.Pointer
	bytes  int  // slab memory allocated
	inUse  int  // chunks handed out and not yet put back (tests check it returns to 0)
	closed bool // the ring is gone: its slabs are freed
}

// get returns a chunk of the class, or one with p == nil if C memory ran out.
func (p *chunkPool) get(class uint8) outChunk {
	sz := int(chunkSizes[class])
	p.mu.Lock()
	defer p.mu.Unlock()
	free := &p.free[class]
	if n := len(*free); n == 0 && !p.closed && p.bytes+sz*slabChunks <= maxPoolBytes {
		if slab := shim.Alloc(sz * slabChunks); slab != nil {
			p.slabs = append(p.slabs, slab)
			p.bytes += sz * slabChunks
			for i := slabChunks - 1; i >= 0; i-- {
				*free = append(*free, unsafe.Add(slab, i*sz))
			}
		}
	}
	if n := len(*free); n > 0 {
		ch := (*free)[n-1]
		*free = (*free)[:n-1]
		p.inUse++
		return outChunk{p: ch, class: class}
	}
	ch := outChunk{p: shim.Alloc(sz), class: class, single: true}
	if ch.p != nil {
		p.inUse++
	}
	return ch
}

// put takes a chunk back. Call only after the last CQE of every send of it.
func (p *chunkPool) put(ch outChunk) {
	p.mu.Lock()
	p.inUse--
	if ch.single {
		p.mu.Unlock()
		shim.Free(ch.p)
		return
	}
	if !p.closed {
		p.free[ch.class] = append(p.free[ch.class], ch.p)
	}
	p.mu.Unlock()
}

// chunksInUse reports how many chunks conns hold.
func (p *chunkPool) chunksInUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// close frees the slabs. The ring's conns are all torn down by then, so
// no chunk is in use.
func (p *chunkPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, slab := range p.slabs {
		shim.Free(slab)
	}
	p.slabs, p.free = nil, [len(chunkSizes)][]unsafe.Pointer{}
}

// writeBehind queues b in the outbox, waiting while the outbox is full.
// c.wmu is held.
func (c *conn) writeBehind(b []byte) (int, error) {
	total := 0
	for {
		c.mu.Lock()
		if err := c.blockedLocked(&c.wdl); err != nil {
			c.mu.Unlock()
			return total, err
		}
		if c.werr != nil {
			err := c.werr
			c.mu.Unlock()
			return total, err
		}
		if len(b) == 0 {
			c.mu.Unlock()
			return total, nil
		}
		if !c.outActive && c.directSends < maxDirectSends && c.r.sendDirectly() {
			// What the socket does not take goes to the outbox. Nothing can
			// enter the outbox meanwhile: Writes hold wmu.
			//
			// Up to maxDirectSends per Read: more Writes with no Read
			// between are a stream (a logger, a push, a proxy's one
			// direction), and the outbox batches a stream into a few large
			// sends where send(2) costs a system call per Write: 128-byte
			// Writes streamed at 24-30x package net's rate
			// (BenchmarkStreamSmallWrites). A reply of a few Writes per
			// request still goes out directly: with one direct Write per
			// Read, an in-process gRPC client at 4 conns fell from
			// 0.89-0.99x package net's calls to 0.69-0.72x (each outbox
			// Write woke the sleeping loop); with four, 0.91-1.05x.
			c.directSends++
			c.mu.Unlock()
			n, err := c.trySend(b)
			total += n
			b = b[n:]
			if err != nil || len(b) == 0 {
				return total, err
			}
			c.mu.Lock()
			if err := c.blockedLocked(&c.wdl); err != nil {
				c.mu.Unlock()
				return total, err
			}
		}
		room := c.r.cfg.writeBuf - int(c.outBytes)
		if room <= 0 {
			c.outWait = true
			c.wdl.waitLocked(&c.r.deadlines, &c.cond)
			c.mu.Unlock()
			continue
		}
		n := c.appendOut(b[:min(len(b), room)])
		total += n
		b = b[n:]
		kick := n > 0 && !c.outActive
		if kick {
			c.outActive = true
		}
		c.mu.Unlock()
		if n == 0 {
			return total, syscall.ENOMEM
		}
		if kick && !c.r.submit(request{kind: reqFlush, c: c}) {
			return total, net.ErrClosed
		}
	}
}

// appendOut copies b to the end of the outbox and returns how much it took
// (less than len(b) only when C memory runs out). c.mu is held. The tail
// chunk may be in flight: its bytes past filled are not part of that send.
func (c *conn) appendOut(b []byte) int {
	n := 0
	for n < len(b) {
		if k := len(c.out); k == 0 || c.out[k-1].filled == c.out[k-1].size() {
			ch := c.r.chunks.get(nextChunk(int(c.outBytes)+n, len(b)-n))
			if ch.p == nil {
				break
			}
			if k == 0 {
				c.out = c.outInline[:0]
			}
			c.out = append(c.out, ch)
		}
		t := &c.out[len(c.out)-1]
		m := copy(unsafe.Slice((*byte)(t.p), t.size())[t.filled:], b[n:])
		t.filled += uint32(m)
		n += m
	}
	c.outBytes += int32(n)
	return n
}

// drain waits until the loop has sent everything queued. c.wmu is held.
func (c *conn) drain() error {
	for {
		c.mu.Lock()
		if err := c.blockedLocked(&c.wdl); err != nil {
			c.mu.Unlock()
			return err
		}
		if !c.outActive {
			err := c.werr
			c.mu.Unlock()
			return err
		}
		c.outWait = true
		c.wdl.waitLocked(&c.r.deadlines, &c.cond)
		c.mu.Unlock()
	}
}

// dropOutLocked gives every queued chunk back. c.mu is held and no send of
// the outbox is in flight.
func (c *conn) dropOutLocked() {
	for i := range c.out {
		c.r.chunks.put(c.out[i])
		c.out[i] = outChunk{}
	}
	c.out = nil
	c.outBytes = 0
	c.outActive = false
}

// flushOut sends the outbox head unless a send of it is in flight. Loop only.
func (r *ring) flushOut(c *conn) {
	if c.outSending || c.closing {
		return
	}
	c.mu.Lock()
	if len(c.out) == 0 {
		c.outActive = false
		c.mu.Unlock()
		return
	}
	h := c.out[0]
	c.mu.Unlock()
	c.outSending = true
	r.addSend(c, uint64(uintptr(h.p))+uint64(h.sent), h.filled-h.sent)
}

// onOutSend handles the CQE of an outbox send. Loop only.
func (c *conn) onOutSend(r *ring, res int32) {
	c.inflight--
	c.outSending = false
	c.mu.Lock()
	failed := res < 0 || c.closing
	if res > 0 {
		h := &c.out[0]
		h.sent += uint32(res)
		c.outBytes -= res
		if h.sent == h.filled {
			r.chunks.put(*h)
			last := len(c.out) - 1
			copy(c.out, c.out[1:])
			c.out[last] = outChunk{}
			c.out = c.out[:last]
		}
	}
	if failed {
		if res < 0 && res != -int32(syscall.ECANCELED) && c.werr == nil {
			c.werr = syscall.Errno(-res)
		}
		c.dropOutLocked()
	}
	more := len(c.out) > 0
	shut := false
	if !more {
		c.outActive = false
		shut = c.shutAfterFlush && !failed
		c.shutAfterFlush = false
	}
	wake := c.outWait
	c.outWait = false
	c.mu.Unlock()
	if wake {
		r.readyWaiter(&c.wdl, &c.cond)
	}
	switch {
	case more:
		r.flushOut(c)
	case shut:
		syscall.Shutdown(c.fd, syscall.SHUT_WR) // CloseWrite came while bytes were queued
	}
	if !more && c.closeAfterFlush {
		c.closeAfterFlush = false
		c.stopFlushTimer()
		r.beginClose(&c.loopState, c.fd) // complete tears down at the last CQE
	}
}

// abortFlush gives up sending what a closed conn still had queued (its
// peer stopped reading), with a reset: a plain close would look to the
// peer like the end of the stream, with bytes missing. Loop only.
func (r *ring) abortFlush(c *conn) {
	if !c.closeAfterFlush {
		return
	}
	c.closeAfterFlush = false
	r.resetOnClose(c)
	if r.beginClose(&c.loopState, c.fd) {
		r.teardownConn(c)
	}
}

func (c *conn) stopFlushTimer() {
	c.mu.Lock()
	t := c.flushTimer
	c.flushTimer = nil
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}
