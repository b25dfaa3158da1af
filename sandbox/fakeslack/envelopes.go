package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// sendLocked records a new envelope and delivers it to a random connection, or queues it for
// the next connection when none is open.
func (h *socketHub) sendLocked(typ string, payload any, acceptsResponse bool, onAck func(json.RawMessage) any) (string, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("encode %s payload: %w", typ, err)
	}
	e := &envelope{
		Envelope: Envelope{ID: randomToken(12), Type: typ, Payload: raw, AcceptsResponsePayload: acceptsResponse},
		onAck:    onAck,
	}
	h.envs[e.ID] = e
	h.envOrder = append(h.envOrder, e)
	h.deliverLocked(e, "", nil)
	h.w.notify(Change{Kind: ChangeEnvelope, Envelope: e.ID})
	return e.ID, nil
}

// deliverLocked sends the envelope with its current attempt to target (or a random connection
// when nil) and arms redelivery.
func (h *socketHub) deliverLocked(e *envelope, reason string, target *conn) {
	w := h.w
	if target == nil {
		if len(h.conns) == 0 {
			e.queued = true
			return
		}
		target = h.conns[w.cfg.Rand.IntN(len(h.conns))]
	}
	e.queued = false
	e.lost = target.blackholed.Load()
	wire := wireEnvelope{EnvelopeID: e.ID, Type: e.Type, Payload: e.Payload, AcceptsResponsePayload: e.AcceptsResponsePayload, RetryAttempt: e.attempt, RetryReason: reason}
	e.Deliveries = append(e.Deliveries, Delivery{Conn: target.id, RetryAttempt: e.attempt, RetryReason: reason, At: w.cfg.Now()})
	// Write outside the lock would reorder envelopes; the write deadline bounds the wait.
	if err := target.writeJSON(wire); err != nil {
		w.cfg.Log.Warn("fakeslack: envelope write failed", "conn", target.id, "err", err)
	}
	h.armRedeliveryLocked(e)
}

func (h *socketHub) armRedeliveryLocked(e *envelope) {
	w := h.w
	if w.cfg.DisableRedelivery || e.attempt >= w.cfg.MaxRetries {
		return
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(w.cfg.RedeliveryDelay, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if e.Acked || isClosed(w.done) {
			return
		}
		e.attempt++
		h.deliverLocked(e, "timeout", nil)
		w.notify(Change{Kind: ChangeEnvelope, Envelope: e.ID})
	})
}

// flushQueued sends, on a fresh connection, what arrived while no socket was open, and, as
// retries, what a blackholed socket swallowed.
func (h *socketHub) flushQueued(c *conn) {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	for _, e := range h.envOrder {
		switch {
		case e.Acked:
		case e.queued:
			h.deliverLocked(e, "", c)
		case e.lost:
			e.attempt++
			h.deliverLocked(e, "timeout", c)
		}
	}
}

// SendEnvelope delivers an arbitrary envelope (type "events_api", "interactive",
// "slash_commands") to one connection and returns its ID; the ack is not applied to the
// workspace. Use WaitAck to see it.
func (w *Workspace) SendEnvelope(typ string, payload any, acceptsResponsePayload bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sock.sendLocked(typ, payload, acceptsResponsePayload, nil)
}

// Redeliver sends an envelope again at once, as Slack's at-least-once delivery does: with
// retry_attempt one higher and the given retry_reason, to a random connection.
func (w *Workspace) Redeliver(envelopeID, reason string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.sock.envs[envelopeID]
	if !ok {
		return fmt.Errorf("redeliver %s: no such envelope", envelopeID)
	}
	e.attempt++
	w.sock.deliverLocked(e, reason, nil)
	return nil
}

// DeliverOnEveryConnection sends an envelope again, unchanged, on every open connection — the
// same payload reaching two replicas.
func (w *Workspace) DeliverOnEveryConnection(envelopeID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.sock.envs[envelopeID]
	if !ok {
		return fmt.Errorf("deliver %s: no such envelope", envelopeID)
	}
	if len(w.sock.conns) == 0 {
		return fmt.Errorf("deliver %s: no connection open", envelopeID)
	}
	for _, c := range w.sock.conns {
		w.sock.deliverLocked(e, "", c)
	}
	return nil
}

// WaitAck waits until the envelope is acked and returns the ack.
func (w *Workspace) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var ack Ack
	err := w.waitFor(ctx, "ack of "+envelopeID, func() bool {
		e, ok := w.sock.envs[envelopeID]
		if ok && e.Acked {
			ack = e.Ack
			return true
		}
		return false
	})
	return ack, err
}

// waitResult waits for the ack and returns what the envelope's onAck made of it.
func (w *Workspace) waitResult(ctx context.Context, envelopeID string) (Ack, any, error) {
	ack, err := w.WaitAck(ctx, envelopeID)
	if err != nil {
		return Ack{}, nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return ack, w.sock.envs[envelopeID].result, nil
}

// Envelopes returns every envelope sent so far with its deliveries and ack, oldest first.
func (w *Workspace) Envelopes() []Envelope {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Envelope, 0, len(w.sock.envOrder))
	for _, e := range w.sock.envOrder {
		c := e.Envelope
		c.Deliveries = slices.Clone(e.Deliveries)
		out = append(out, c)
	}
	return out
}

// WaitDelivery waits until an envelope has been delivered with retry_attempt at least attempt.
func (w *Workspace) WaitDelivery(ctx context.Context, envelopeID string, attempt int) (Delivery, error) {
	var d Delivery
	err := w.waitFor(ctx, fmt.Sprintf("delivery %d of %s", attempt, envelopeID), func() bool {
		e, ok := w.sock.envs[envelopeID]
		if !ok {
			return false
		}
		for _, del := range e.Deliveries {
			if del.RetryAttempt >= attempt {
				d = del
				return true
			}
		}
		return false
	})
	return d, err
}
