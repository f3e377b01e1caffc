#!/usr/bin/env python3
"""Host side of the ESP8266's MQTT-over-serial link: SLIP frames <-> TCP.

The device (boards/esp8266, src/serial.rs) sends SLIP frames whose first byte
is a kind: O (open a connection to the broker), D (MQTT bytes), C (close).
This bridge answers O by opening a TCP connection to the broker and sending
U (up), or C if the broker cannot be reached; relays D both ways; closes the
TCP connection on C, and sends C when the broker closes it. Bytes outside
valid frames (the ROM's boot message) are dropped.

  serial-bridge.py --serial /dev/ttyUSB0 [--baud 115200] [--broker HOST:PORT]
  serial-bridge.py [--broker HOST:PORT] -- COMMAND ARGS...

The second form runs COMMAND (e.g. the firmware under QEMU with feature
`sim`) and uses its stdout/stdin as the line; its stderr (the device's log)
passes through. --serial needs pyserial (pip install pyserial).
"""

import argparse
import os
import selectors
import socket
import subprocess
import sys

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD


def log(msg):
    sys.stderr.write("bridge: %s\n" % msg)
    sys.stderr.flush()


def frame(kind, payload=b""):
    out = bytearray([END, kind])
    for b in payload:
        if b == END:
            out += bytes([ESC, ESC_END])
        elif b == ESC:
            out += bytes([ESC, ESC_ESC])
        else:
            out.append(b)
    out.append(END)
    return bytes(out)


class Decoder:
    """SLIP decoder: feed bytes, get whole frames (damaged ones dropped)."""

    def __init__(self):
        self.buf = bytearray()
        self.escaped = False
        self.damaged = False

    def feed(self, data):
        frames = []
        for b in data:
            if b == END:
                if self.buf and not self.damaged:
                    frames.append(bytes(self.buf))
                self.buf.clear()
                self.escaped = self.damaged = False
            elif self.damaged:
                continue
            elif self.escaped:
                self.escaped = False
                if b == ESC_END:
                    self.buf.append(END)
                elif b == ESC_ESC:
                    self.buf.append(ESC)
                else:
                    self.damaged = True
            elif b == ESC:
                self.escaped = True
            else:
                self.buf.append(b)
        return frames


class Bridge:
    def __init__(self, broker, write_line):
        self.broker = broker
        self.write_line = write_line
        self.sock = None
        self.sel = selectors.DefaultSelector()

    def close_tcp(self):
        if self.sock is not None:
            self.sel.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def on_frame(self, f):
        kind, payload = f[0], f[1:]
        if kind == ord("O"):
            self.close_tcp()
            try:
                self.sock = socket.create_connection(self.broker, timeout=5)
            except OSError as e:
                log("open: broker %s:%d unreachable (%s)" % (self.broker + (e,)))
                self.write_line(frame(ord("C")))
                return
            self.sock.setblocking(False)
            self.sel.register(self.sock, selectors.EVENT_READ, "tcp")
            log("open: connected to %s:%d" % self.broker)
            self.write_line(frame(ord("U")))
        elif kind == ord("D"):
            if self.sock is not None:
                try:
                    self.sock.sendall(payload)
                except OSError as e:
                    log("send failed (%s): closing" % e)
                    self.close_tcp()
                    self.write_line(frame(ord("C")))
        elif kind == ord("C"):
            if self.sock is not None:
                log("close: device closed the connection")
            self.close_tcp()
        # Anything else is line noise.

    def on_tcp(self):
        try:
            data = self.sock.recv(256)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            log("broker closed the connection")
            self.close_tcp()
            self.write_line(frame(ord("C")))
            return
        self.write_line(frame(ord("D"), data))


def parse_broker(s):
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--broker", default="127.0.0.1:1883", type=parse_broker)
    ap.add_argument("--serial")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    proc = None
    if args.serial:
        try:
            import serial  # pyserial
        except ImportError:
            sys.exit("serial-bridge: --serial needs pyserial: pip install pyserial")
        port = serial.Serial(args.serial, args.baud, timeout=0)
        line_fd = port.fileno()

        def write_line(b):
            port.write(b)

    elif command:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line_fd = proc.stdout.fileno()
        os.set_blocking(line_fd, False)

        def write_line(b):
            proc.stdin.write(b)
            proc.stdin.flush()

    else:
        ap.error("give --serial DEVICE or -- COMMAND")

    bridge = Bridge(args.broker, write_line)
    bridge.sel.register(line_fd, selectors.EVENT_READ, "line")
    decoder = Decoder()
    try:
        while True:
            for key, _ in bridge.sel.select(timeout=1.0):
                if key.data == "line":
                    try:
                        data = os.read(line_fd, 4096)
                    except BlockingIOError:
                        continue
                    if not data:
                        log("device line closed")
                        return proc.wait() if proc else 0
                    for f in decoder.feed(data):
                        bridge.on_frame(f)
                elif bridge.sock is not None:
                    bridge.on_tcp()
            if proc is not None and proc.poll() is not None:
                return proc.returncode
    except KeyboardInterrupt:
        return 130
    finally:
        bridge.close_tcp()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
