#!/usr/bin/env python3
"""parley_client.py: a parley seat in Python, written from proto/PROTOCOL.md and
proto/parley.proto alone.

It needs pyzmq (Debian: python3-zmq) and nothing else: the few protobuf
messages it speaks are encoded and decoded below by field number, so no
generated code and no protoc are needed.

With --observation delta it asks the broker for observation deltas and
rebuilds each whole observation itself (PROTOCOL.md "Observation deltas");
the default, full, gets the whole observation every turn.

Play: ask the holders of every piece a task misses (once per holder, as the
observation's `requests` shows), answer every request received with the piece
at its value, submit every task whose pieces are all held.

    python3 parley_client.py --broker tcp://127.0.0.1:5555 --seat agent_3 \\
        (--token HEX | --run-dir RUN_DIR | env PARLEY_TOKEN) [--observation delta]

Exit status: 0 the game ended, 1 the broker refused the seat, 2 bad usage.
"""
import argparse
import json
import os
import sys
import time

import zmq

# ----------------------------------------------------------- protobuf wire --
# Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.


def _varint(n):
    if n < 0:
        n += 1 << 64  # negative int32/int64: ten bytes, two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def f_uint(field, n):
    return _key(field, 0) + _varint(n) if n else b""


def f_bool(field, v):
    return _key(field, 0) + b"\x01" if v else b""


def f_bytes(field, b):
    return _key(field, 2) + _varint(len(b)) + b


def f_str(field, s):
    return f_bytes(field, s.encode("utf-8")) if s else b""


def decode(buf):
    """One message as {field number: [raw values]}: ints for varints and fixed
    fields, bytes for length-delimited ones (strings, messages, packed lists)."""
    fields, i, n = {}, 0, len(buf)
    while i < n:
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(buf, i)
        elif wire == 1:
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 2:
            ln, i = _read_varint(buf, i)
            v, i = bytes(buf[i:i + ln]), i + ln
        elif wire == 5:
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError("wire type %d" % wire)
        fields.setdefault(field, []).append(v)
    return fields


def _read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def g_int(m, field, default=0):
    v = m.get(field, [default])[-1]
    return v - (1 << 64) if v >= 1 << 63 else v  # int32/int64 are signed


def g_str(m, field):
    return m.get(field, [b""])[-1].decode("utf-8", "replace")


def g_strs(m, field):
    return [b.decode("utf-8", "replace") for b in m.get(field, [])]


def g_msgs(m, field):
    return [decode(b) for b in m.get(field, [])]


def g_ints(m, field):
    """A repeated int32: packed (one length-delimited run) or not."""
    out = []
    for v in m.get(field, []):
        if isinstance(v, bytes):
            i = 0
            while i < len(v):
                x, i = _read_varint(v, i)
                out.append(x - (1 << 64) if x >= 1 << 63 else x)
        else:
            out.append(v)
    return out


def g_double(m, field, default=0.0):
    import struct
    v = m.get(field)
    return struct.unpack("<d", v[-1].to_bytes(8, "little"))[0] if v else default


# Envelope bodies (parley.proto): field numbers of the oneof.
HELLO, WELCOME, TURN_REQUEST, DECISION, ACTION_RESULTS = 10, 11, 12, 13, 14
NOTICE, HEARTBEAT, GAME_OVER, ERROR, BYE, RESYNC = 15, 16, 17, 18, 19, 20
# Error.Code values.
E_UNKNOWN_SEAT, E_BAD_TOKEN, E_NOT_WELCOMED, E_GAME_OVER, E_WRONG_GAME = 3, 4, 6, 9, 11
# Action.Kind values.
SEND_MESSAGE, BROADCAST, SEND_INFORMATION, SUBMIT_TASK = 0, 1, 2, 3


# Observation: the numbers of its repeated fields, and the highest field number
# this client knows (an edit of a higher one is a newer broker's: ignored).
OBS_LISTS = {7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 20, 21, 23}
OBS_LAST_FIELD = 24
OBSERVATION_DELTA = 1


def apply_delta(base, delta, edits):
    """The whole observation from the one held (base) and a delta with its
    ListEdits (PROTOCOL.md "Observation deltas"), or None if it does not fit."""
    out = {f: v for f, v in delta.items() if f not in OBS_LISTS}
    plan = {}
    for e in edits:  # ListEdit{field, skip, keep, replace}
        f = g_int(e, 1)
        if f > OBS_LAST_FIELD:
            continue
        if f not in OBS_LISTS or f in plan:
            return None
        plan[f] = (g_int(e, 2), g_int(e, 3), g_ints(e, 4))
    for f in OBS_LISTS:
        old, add = base.get(f, []), delta.get(f, [])
        if f not in plan:
            new = old + add
        else:
            skip, keep, repl = plan[f]
            if skip + keep > len(old) or len(repl) > len(add) or \
                    any(r >= keep for r in repl) or repl != sorted(set(repl)):
                return None
            new = old[skip:skip + keep]
            for k, r in enumerate(repl):
                new[r] = add[k]
            new += add[len(repl):]
        if new:
            out[f] = new
    return out


def action(kind, to="", content="", info=(), values=()):
    body = f_uint(1, kind) + f_str(2, to) + f_str(3, content)
    for name in info:
        body += f_str(4, name)
    for name, value in values:  # PieceValue{piece = 1, value = 2}
        body += f_bytes(5, f_str(1, name) + f_uint(2, value))
    return body


# ------------------------------------------------------------------ client --

class Seat:
    def __init__(self, endpoint, seat, token, delta=False):
        self.endpoint, self.seat, self.token = endpoint, seat, token
        self.delta = delta
        self.obs, self.obs_version = None, 0  # the observation held (DELTA)
        self.counts = {"whole": 0, "deltas": 0, "resyncs": 0}
        self.ctx = zmq.Context()
        self.sock = None
        self.seq = 0
        self.game_id = ""
        self.agents, self.pieces = [], []
        self.heartbeat_s = 1.0
        self.last_heard = time.monotonic()

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def send(self, field, body):
        self.seq += 1  # not checked by the broker (PROTOCOL.md)
        env = f_uint(1, self.seq) + f_str(2, self.game_id) + f_bytes(field, body)
        self.sock.send(env)

    def hello(self):
        self.obs, self.obs_version = None, 0  # a new connection starts whole
        self.send(HELLO, f_str(1, self.seat) + f_str(2, self.token) + f_str(3, "python-example")
                  + f_str(5, "parley_client.py 1") + f_bool(6, True)
                  + f_uint(8, OBSERVATION_DELTA if self.delta else 0))

    def observation(self, tr):
        """The whole observation of a TurnRequest, or None (Resync sent)."""
        obs = decode(tr.get(2, [b""])[0])
        base_version = g_int(tr, 7)
        if base_version == 0:
            self.counts["whole"] += 1
        else:
            fits = self.obs is not None and base_version == self.obs_version
            obs = apply_delta(self.obs, obs, g_msgs(tr, 8)) if fits else None
            if obs is None:
                self.counts["resyncs"] += 1
                self.obs, self.obs_version = None, 0
                self.send(RESYNC, f_uint(1, g_int(tr, 1)) + f_str(2, "delta does not fit"))
                return None
            self.counts["deltas"] += 1
        self.obs, self.obs_version = obs, g_int(tr, 6)
        return obs

    def decide(self, obs):
        """The actions of one turn, from the Observation alone."""
        me = g_int(obs, 1)
        held = {g_int(h, 1): g_int(h, 2) for h in g_msgs(obs, 9)}  # Holding{piece, value}
        holders = {}
        for d in g_msgs(obs, 10):  # DirEntry{agent, pieces}
            for p in g_ints(d, 2):
                holders.setdefault(p, []).append(g_int(d, 1))
        asked = {(g_int(r, 1), g_int(r, 2)) for r in g_msgs(obs, 15)}  # Request{holder, piece}
        acts = []
        # Requests received: `asks` (has_asks) or, failing that, nothing.
        for ask in g_msgs(obs, 23):  # Ask{from, piece, count, answered}
            frm, piece, answered = g_int(ask, 1), g_int(ask, 2), g_int(ask, 4)
            if not answered and piece in held and frm != me:
                name = self.pieces[piece]
                acts.append(action(SEND_INFORMATION, self.agents[frm], info=[name],
                                   values=[(name, held[piece])]))
        for task in g_msgs(obs, 8):  # TaskView{id, description, pieces}
            tid, need = g_str(task, 1), g_ints(task, 3)
            missing = [p for p in need if p not in held]
            if not missing:
                names = ", ".join(self.pieces[p] for p in need)
                acts.append(action(SUBMIT_TASK, content="Combined result of: " + names))
                continue
            for p in missing:
                for h in holders.get(p, []):
                    if h != me and (h, p) not in asked:
                        acts.append(action(SEND_MESSAGE, self.agents[h],
                                           "REQUEST: %s for %s" % (self.pieces[p], tid)))
        return acts

    def run(self):
        self.connect()
        self.hello()
        next_beat = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_beat:
                if self.game_id:
                    self.send(HEARTBEAT, f_str(2, "idle"))
                next_beat = now + self.heartbeat_s
            if now - self.last_heard > 4 * self.heartbeat_s + 1:
                # Silence: the broker may have restarted; a fresh socket, Hello again.
                self.connect()
                self.hello()
                self.last_heard = now
            if not self.sock.poll(int(self.heartbeat_s * 1000 / 2) or 50):
                continue
            env = decode(self.sock.recv())
            self.last_heard = time.monotonic()
            if WELCOME in env:
                w = decode(env[WELCOME][0])
                self.game_id = g_str(env, 2)
                self.agents, self.pieces = g_strs(w, 4), g_strs(w, 5)
                self.heartbeat_s = g_double(w, 6, 1.0) or 1.0
            elif TURN_REQUEST in env:
                tr = decode(env[TURN_REQUEST][0])
                turn_id = g_int(tr, 1)
                obs = self.observation(tr)
                if obs is None:
                    continue
                body = f_uint(1, turn_id)
                for a in self.decide(obs):
                    body += f_bytes(2, a)
                self.send(DECISION, body)
            elif ERROR in env:
                err = decode(env[ERROR][0])
                code, text = g_int(err, 1), g_str(err, 2)
                print("parley_client: error %d: %s" % (code, text), file=sys.stderr)
                if code in (E_NOT_WELCOMED, E_WRONG_GAME):
                    self.game_id = ""
                    self.hello()
                elif code in (E_UNKNOWN_SEAT, E_BAD_TOKEN):
                    return 1
                elif code == E_GAME_OVER:
                    return 0
            elif GAME_OVER in env:
                go = decode(env[GAME_OVER][0])
                print("parley_client: game over (%s): %d tasks" % (g_str(go, 4), g_int(go, 2)),
                      file=sys.stderr)
                print("parley_client: observations: %(whole)d whole, %(deltas)d deltas, "
                      "%(resyncs)d resyncs" % self.counts, file=sys.stderr)
                return 0


def main():
    ap = argparse.ArgumentParser(description="a parley seat in Python (examples/clients/python)")
    ap.add_argument("--broker", required=True, help="the agent endpoint (READY line, 2nd word)")
    ap.add_argument("--seat", required=True, help="agent_N")
    ap.add_argument("--token", help="the seat's token (default: $PARLEY_TOKEN)")
    ap.add_argument("--run-dir", help="read the token from RUN_DIR/seats.json")
    ap.add_argument("--observation", choices=("full", "delta"), default="full",
                    help="whole observations every turn (full), or deltas rebuilt here")
    args = ap.parse_args()
    token = args.token or os.environ.get("PARLEY_TOKEN")
    if not token and args.run_dir:
        with open(os.path.join(args.run_dir, "seats.json")) as f:
            token = json.load(f).get(args.seat)
    if not token:
        ap.error("no token: --token, --run-dir or PARLEY_TOKEN")
    try:
        return Seat(args.broker, args.seat, token, args.observation == "delta").run()
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main())
