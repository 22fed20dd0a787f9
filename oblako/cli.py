"""The `oblako` command: tools people use on fiscal bytes, benchmarks, code generation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from oblako.blobs import InputError, hex_context, read_blob
from protocol.errors import ProtocolError, TlvError
from protocol.ofd import FnContainer, OfdMessage, parse_container, parse_message
from protocol.sniff import BlobKind, sniff
from protocol.tlv import decode
from protocol.tree import Field, render, to_json

app = typer.Typer(
    help="Oblako: облачная касса по 54-ФЗ. Инструменты для фискальных данных.",
    no_args_is_help=True,
    add_completion=False,
)
tlv_app = typer.Typer(help="ФФД TLV: documents, OFD containers and messages.", no_args_is_help=True)
fn_app = typer.Typer(help="The fiscal drive (ФН) link: frames and commands.", no_args_is_help=True)
gen_app = typer.Typer(help="Generated copies of the spec for firmware/.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (figures and ratios to a same-run baseline).")
hil_app = typer.Typer(help="The drive bench: contract suite, traces.", no_args_is_help=True)
trace_app = typer.Typer(help="Raw byte traces of the bench.", no_args_is_help=True)
sim_app = typer.Typer(
    help="Simulators: the fiscal drive, the OFD, the card acquirer, the tax service.",
    no_args_is_help=True,
)
fleet_app = typer.Typer(help="The fleet controller, cabinet and API.", no_args_is_help=True)
register_app = typer.Typer(help="The register runtime on the bench.", no_args_is_help=True)
hil_app.add_typer(trace_app, name="trace")
app.add_typer(tlv_app, name="tlv")
app.add_typer(fn_app, name="fn")
app.add_typer(gen_app, name="gen")
app.add_typer(bench_app, name="bench")
app.add_typer(hil_app, name="hil")
app.add_typer(sim_app, name="sim")
app.add_typer(fleet_app, name="fleet")
app.add_typer(register_app, name="register")


def _fail(message: str, raw: bytes | None = None, offset: int | None = None) -> NoReturn:
    typer.echo(f"ошибка: {message}", err=True)
    if raw is not None and offset is not None and offset >= 0:
        typer.echo(hex_context(raw, offset), err=True)
    raise typer.Exit(1)


def _blob(arg: str) -> bytes:
    try:
        return read_blob(arg)
    except (InputError, OSError) as e:
        _fail(str(e))


def _container_json(c: FnContainer) -> dict[str, Any]:
    return {
        "docType": c.doc_type,
        "fnNumber": c.fn_number,
        "fdNumber": c.fd_number,
        "document": to_json(c.document),
        "trailer": c.trailer.hex(),
    }


def _container_text(c: FnContainer) -> str:
    head = (
        f"Контейнер ФН: тип документа {c.doc_type}, ФН {c.fn_number}, ФД {c.fd_number}, "
        f"хвост {len(c.trailer)} байт {c.trailer.hex()}"
    )
    return head + "\n" + render(c.document, indent=1)


@tlv_app.command("decode")
def tlv_decode(
    source: Annotated[str, typer.Argument(help="hex bytes, or a file (binary or hex)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON keyed by English ids")
    ] = False,
) -> None:
    """Decode a TLV document, an FN container or a whole OFD message (detected)."""
    raw = _blob(source)
    kind = sniff(raw)
    try:
        if kind is BlobKind.MESSAGE:
            msg: OfdMessage = parse_message(raw)
            h = msg.header
            if as_json:
                out: Any = {
                    "kind": kind.value,
                    "session": {
                        "fnNumber": h.fn_number,
                        "pVersion": h.p_version.hex(),
                        "sVersion": h.s_version.hex(),
                        "bodySize": h.body_size,
                        "flags": h.flags,
                        "crc": h.crc,
                    },
                    "container": _container_json(msg.container) if msg.container else None,
                }
            else:
                out = (
                    f"Сообщение ОФД: ФН {h.fn_number.strip()}, P-версия {h.p_version.hex()}, "
                    f"тело {h.body_size} байт, флаги {h.flags:#06x}"
                )
                if msg.container is not None:
                    out += "\n" + _container_text(msg.container)
        elif kind is BlobKind.CONTAINER:
            c = parse_container(raw)
            out = {"kind": kind.value, **_container_json(c)} if as_json else _container_text(c)
        else:
            fields: list[Field] = decode(raw)
            out = to_json(fields) if as_json else render(fields)
    except TlvError as e:
        _fail(str(e), raw, e.offset)
    except ProtocolError as e:
        _fail(str(e))
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        typer.echo(out)


@fn_app.command("frame")
def fn_frame(
    command: Annotated[str, typer.Argument(help="command: hex code (30, 0x30) or name (STATUS)")],
    data_hex: Annotated[str | None, typer.Argument(help="request data as hex")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="a request field, e.g. --set total=12345 (repeat)"),
    ] = None,
) -> None:
    """Build a request frame (04 | LEN | CMD | DATA | CRC) and explain it."""
    from oblako.frames import FrameInputError, explain, request_frame

    try:
        raw = request_frame(command, data_hex, set_ or [])
    except FrameInputError as e:
        _fail(str(e))
    typer.echo(raw.hex())
    for line in explain(raw):
        typer.echo(line)


@fn_app.command("parse")
def fn_parse(
    frame: Annotated[str, typer.Argument(help="a whole frame as hex, or a file")],
    answer_to: Annotated[
        str | None, typer.Option("--answer-to", help="the frame is an answer to this command")
    ] = None,
) -> None:
    """Check a frame (start, length, CRC) and explain its command or answer."""
    from oblako.frames import FrameInputError, explain

    raw = _blob(frame)
    try:
        lines = explain(raw, answer_to)
    except (FrameInputError, ProtocolError) as e:
        _fail(str(e))
    for line in lines:
        typer.echo(line)


@hil_app.command("run")
def hil_run(
    port: Annotated[str | None, typer.Option(help="pyserial URL of the drive, or 'sim'")] = None,
    bench: Annotated[Path | None, typer.Option(help="a bench file (TOML) with slots")] = None,
    slot: Annotated[str | None, typer.Option(help="the slot of --bench to test")] = None,
    junit: Annotated[Path | None, typer.Option(help="write a JUnit XML report here")] = None,
    trace: Annotated[Path | None, typer.Option(help="write a raw byte trace here")] = None,
    allow_fiscal: Annotated[
        bool, typer.Option(help="allow fiscalisation (debug-build drives only)")
    ] = False,
    power_cycle: Annotated[
        str | None, typer.Option(help="shell command that power-cycles this slot")
    ] = None,
    select: Annotated[str | None, typer.Option("-k", help="pytest -k expression")] = None,
) -> None:
    """Run the drive contract suite against a drive (real port) or the simulator ('sim')."""
    import tempfile

    from hil.config import BenchConfigError, load_slot
    from hil.runner import RunOptions, run
    from hil.transport import HilLinkError

    if bench is not None or slot is not None:
        if bench is None or slot is None:
            _fail("--bench and --slot go together")
        try:
            s = load_slot(bench, slot)
        except BenchConfigError as e:
            _fail(str(e))
        port = port or s.port
        power_cycle = power_cycle or s.power_cycle
        allow_fiscal = allow_fiscal or s.allow_fiscal
    if not port:
        _fail("give --port URL (or 'sim'), or --bench FILE --slot NAME")
    opts = RunOptions(port, junit, trace, allow_fiscal, power_cycle, select)
    if port == "sim":
        from oblako.hilsim import SimBenchPlugin

        with tempfile.TemporaryDirectory(prefix="oblako-hil-") as state:
            code = run(opts, plugins=[SimBenchPlugin(Path(state), trace)])
    else:
        try:
            code = run(opts)
        except HilLinkError as e:
            _fail(str(e))
    raise typer.Exit(code)


@trace_app.command("show")
def hil_trace_show(
    path: Annotated[Path, typer.Argument(help="a trace written by `oblako hil run --trace`")],
) -> None:
    """Decode a byte trace into frames, commands, answers and TLV."""
    from hil.trace import TraceFormatError, explain, read_events

    try:
        lines = explain(read_events(path))
    except (OSError, TraceFormatError) as e:
        _fail(str(e))
    for line in lines:
        typer.echo(line)


@sim_app.command("fn")
def sim_fn(
    pty: Annotated[bool, typer.Option("--pty", help="serve on a pseudo-terminal")] = False,
    tcp: Annotated[int | None, typer.Option(help="serve on TCP at this port (0 = any)")] = None,
    state: Annotated[Path, typer.Option(help="the drive's state file")] = Path("var/fn.json"),
    fn_number: Annotated[str, typer.Option(help="16-digit drive number")] = "9999078900000001",
    debug: Annotated[bool, typer.Option(help="a debug build (accepts 60h reset)")] = True,
    wire_time: Annotated[
        bool, typer.Option(help="emulate 115200-baud wire time and drive latencies")
    ] = False,
) -> None:
    """Serve a simulated fiscal drive until Ctrl-C; prints the device path or URL."""
    import time

    from simulator.fn import (
        DriveConfig,
        DriveModel,
        LinkTiming,
        serve_pty,
        serve_tcp,
    )

    if pty == (tcp is not None):
        _fail("choose one of --pty or --tcp PORT")
    state.parent.mkdir(parents=True, exist_ok=True)
    drive = DriveModel(DriveConfig(fn_number=fn_number, debug_build=debug), state_file=state)
    timing = LinkTiming.real() if wire_time else None
    if pty:
        pty_server = serve_pty(drive, timing=timing)
        where, close = pty_server.path, pty_server.close
    else:
        tcp_server = serve_tcp(drive, port=tcp or 0, timing=timing)
        where, close = tcp_server.url, tcp_server.close
    typer.echo(f"ФН {fn_number} (симулятор): {where}  состояние: {state}  Ctrl-C — стоп")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        close()


@sim_app.command("ofd")
def sim_ofd(
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port)")] = 7777,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    sign: Annotated[str, typer.Option(help="the drives' sign algorithm")] = "streebog256",
    delay: Annotated[float, typer.Option(help="seconds before each answer")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="share of answers lost")] = 0.0,
    strict: Annotated[bool, typer.Option(help="reject on every ФЛК rule")] = False,
    stationary: Annotated[int, typer.Option(help="merchant registers to preload")] = 0,
) -> None:
    """Serve a simulated OFD until Ctrl-C (ФЛК, fiscal-sign checks, receipts)."""
    from simulator.ofd import run_ofd_server

    if sign not in ("streebog256", "sha256"):
        _fail(f"--sign is streebog256 or sha256, not {sign!r}")
    try:
        run_ofd_server(
            port=port,
            host=host,
            sign_algorithm="sha256" if sign == "sha256" else "streebog256",
            delay_s=delay,
            drop_rate=drop_rate,
            strict=strict,
            stationary=stationary,
            echo=typer.echo,
        )
    except KeyboardInterrupt:
        typer.echo("ОФД остановлен")


@register_app.command("run")
def register_run(
    fn: Annotated[str, typer.Option("--fn", help="pyserial URL of the drive")],
    ofd: Annotated[str | None, typer.Option(help="the OFD as HOST:PORT")] = None,
    journal: Annotated[Path, typer.Option(help="the journal's directory")] = Path("var/journal"),
    requests: Annotated[
        Path | None, typer.Option(help="JSON lines of requests (default: stdin)")
    ] = None,
    mqtt: Annotated[
        str | None, typer.Option(help="take commands from the fleet: mqtt[s]://host:port")
    ] = None,
    serial: Annotated[str, typer.Option(help="the register's serial (its topic)")] = "",
    root: Annotated[str, typer.Option(help="the MQTT topic root")] = "oblako",
    client: Annotated[str, typer.Option(help="MQTT client: paho or firmware")] = "paho",
    ca: Annotated[
        str | None, typer.Option(help="CA file to verify an mqtts:// broker (default: system)")
    ] = None,
) -> None:
    """Run one register: from the fleet over MQTT (--mqtt), or JSON lines in and out."""
    from firmware.errors import LinkError
    from hil.transport import HilLinkError
    from oblako.register_run import run

    if mqtt is not None:
        from oblako.register_mqtt import run_mqtt

        if not serial:
            _fail("--mqtt needs --serial (the register's topic)")
        try:
            run_mqtt(fn, ofd, journal, mqtt, serial, root=root, client_kind=client, ca_file=ca)
        except (HilLinkError, LinkError, OSError, ValueError) as e:
            _fail(str(e))
        except KeyboardInterrupt:
            typer.echo("касса остановлена", err=True)
        return
    try:
        if requests is None:
            counts = run(fn, ofd, journal, sys.stdin, sys.stdout)
        else:
            with requests.open(encoding="utf-8") as source:
                counts = run(fn, ofd, journal, source, sys.stdout)
    except (HilLinkError, LinkError, OSError, ValueError) as e:
        _fail(str(e))
    typer.echo(
        "итого: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        err=True,
    )


@fleet_app.command("serve")
def fleet_serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option(help="processes serving the port (PostgreSQL; docs/receipts.md)")
    ] = 1,
) -> None:
    """Run the API and the cabinet (settings from the environment: DATABASE_URL, FLEET_*)."""
    from fleet.serve import serve

    serve(host, port, workers=workers)


@fleet_app.command("ingest")
def fleet_ingest(
    mqtt: Annotated[
        str, typer.Option("--mqtt", help="the broker, mqtt://fleet-ingest:PASSWORD@host:port")
    ],
    root: Annotated[str, typer.Option(help="the MQTT topic root")] = "oblako",
    shared: Annotated[
        bool, typer.Option(help="a shared subscription (Mosquitto); --no-shared for amqtt")
    ] = True,
    client_id: Annotated[str, typer.Option(help="this worker's MQTT client id")] = (
        "fleet-ingest-1"
    ),
) -> None:
    """Store what registers send (documents, OFD answers, results, state) and acknowledge it."""
    import signal
    import threading

    from fleet.core.config import Settings
    from fleet.core.db import make_engine
    from fleet.core.migrate import upgrade
    from fleet.link.ingest import run_ingest

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = make_engine(Settings().database_url)
    upgrade(engine)  # as `fleet serve` does at start
    try:
        stats = run_ingest(engine, mqtt, root, shared=shared, stop=stop, client_id=client_id)
    except KeyboardInterrupt:
        stop.set()
        return
    except ValueError as e:
        _fail(str(e))
    typer.echo(f"остановлен: {stats}", err=True)


receipts_app = typer.Typer(help="Receipts: routing, commands, statuses.", no_args_is_help=True)
fleet_app.add_typer(receipts_app, name="receipts")


@receipts_app.command("run")
def fleet_receipts_run(
    mqtt: Annotated[
        str, typer.Option("--mqtt", help="the broker, mqtt://fleet-ingest:PASSWORD@host:port")
    ],
    root: Annotated[str, typer.Option(help="the MQTT topic root")] = "oblako",
    poll_ms: Annotated[int, typer.Option(help="pause between passes, ms")] = 50,
) -> None:
    """Route accepted receipts to registers, send their commands, track results, callbacks."""
    import signal
    import threading

    from fleet.core.config import Settings
    from fleet.core.db import make_engine
    from fleet.core.migrate import upgrade
    from fleet.receipts.runner import run_receipts

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = make_engine(Settings().database_url)
    upgrade(engine)  # as `fleet serve` does at start
    try:
        stats = run_receipts(engine, mqtt, root, stop=stop, poll_s=poll_ms / 1000)
    except KeyboardInterrupt:
        stop.set()
        return
    except ValueError as e:
        _fail(str(e))
    typer.echo(f"остановлен: {stats}", err=True)


operator_app = typer.Typer(help="Oblako's operators (staff).", no_args_is_help=True)
fleet_app.add_typer(operator_app, name="operator")


@operator_app.command("grant")
def fleet_operator_grant(email: Annotated[str, typer.Argument(help="a signed-up user")]) -> None:
    """Make a user an operator (every permission over the whole fleet)."""
    from fleet.core.errors import DomainError
    from oblako.fleet_admin import make_operator

    try:
        typer.echo(f"{make_operator(email)} теперь оператор")
    except DomainError as e:
        _fail(e.message)


@fleet_app.command("provision")
def fleet_provision(
    serial: Annotated[str, typer.Argument(help="the register's serial (its MQTT user)")],
    mqtt_url: Annotated[str, typer.Option("--mqtt", help="the broker the board will use")] = (
        "mqtt://127.0.0.1:1883"
    ),
    root: Annotated[str, typer.Option(help="the MQTT topic root")] = "oblako",
    out: Annotated[Path | None, typer.Option(help="write the identity file here")] = None,
) -> None:
    """Create or rotate a register's broker credentials; prints its identity once."""
    from fleet.core.errors import DomainError
    from oblako.fleet_admin import provision

    try:
        identity = provision(serial, mqtt_url, root)
    except DomainError as e:
        _fail(e.message)
    if out is None:
        typer.echo(identity)
    else:
        out.write_text(identity + "\n", encoding="utf-8")
        out.chmod(0o600)
        typer.echo(f"{out}: личность кассы {serial} записана (пароль показан только там)")


@fleet_app.command("mqtt-auth")
def fleet_mqtt_auth(
    passwd: Annotated[Path, typer.Option(help="Mosquitto's password_file")],
    acl: Annotated[Path, typer.Option(help="Mosquitto's acl_file")],
    root: Annotated[str, typer.Option(help="the MQTT topic root")] = "oblako",
    fleet_account: Annotated[
        str | None, typer.Option(help="also (re)issue the fleet account fleet-NAME")
    ] = None,
) -> None:
    """Write Mosquitto's password and ACL files from the fleet's database (then SIGHUP it)."""
    from oblako.fleet_admin import mqtt_auth

    count, password = mqtt_auth(passwd, acl, root, fleet_account)
    typer.echo(f"учётных записей: {count}; {passwd}, {acl} записаны")
    if password is not None:
        typer.echo(f"пароль fleet-{fleet_account}: {password}")


@sim_app.command("acquiring")
def sim_acquiring(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8100,
    secret: Annotated[str, typer.Option(help="the callback HMAC secret")] = "acquiring-dev-secret",
    delay: Annotated[float, typer.Option(help="seconds before each callback")] = 0.0,
    duplicates: Annotated[int, typer.Option(help="send each callback this many times")] = 1,
) -> None:
    """Run the simulated card acquirer (a payment page and signed callbacks)."""
    from simulator.acquiring import run_acquiring

    run_acquiring(host, port, secret, delay_s=delay, duplicates=duplicates)


@app.command("sign")
def sign(
    path: Annotated[
        Path,
        typer.Argument(
            help="the file to sign (the application's bytes); with --revoke-in: "
            "the certificate to revoke"
        ),
    ],
    key: Annotated[
        Path | None, typer.Option(help="the signer's private key (test CA format)")
    ] = None,
    cert: Annotated[Path | None, typer.Option(help="the signer's certificate (DER)")] = None,
    out: Annotated[Path | None, typer.Option(help="where the .sig goes (default PATH.sig)")] = None,
    make_test_ca: Annotated[
        Path | None,
        typer.Option(help="instead: write a test CA and a signer for --inn/--ogrn into this dir"),
    ] = None,
    inn: Annotated[str, typer.Option(help="with --make-test-ca: the organisation's ИНН")] = "",
    ogrn: Annotated[str, typer.Option(help="with --make-test-ca: its ОГРН")] = "",
    name: Annotated[str, typer.Option(help="with --make-test-ca: its name")] = "ООО «Тест»",
    ocsp_url: Annotated[
        str, typer.Option(help="with --make-test-ca: the OCSP responder the certificate names")
    ] = "",
    crl_url: Annotated[
        str, typer.Option(help="with --make-test-ca: the CRL the certificate names")
    ] = "",
    revoke_in: Annotated[
        Path | None,
        typer.Option(
            help="instead: revoke the certificate PATH in this test CA dir "
            "(revoked.json, what `oblako sim ca --dir` answers from)"
        ),
    ] = None,
    reason: Annotated[
        int | None, typer.Option(help="with --revoke-in: the CRLReason code (1: key compromise)")
    ] = None,
) -> None:
    """A detached GOST CMS signature (КЭП) with a test key, for the demo and tests."""
    from protocol.errors import KepError

    if make_test_ca is not None:
        from oblako.sign import make_test_ca as make_ca

        paths = make_ca(
            make_test_ca, inn, ogrn, name, ocsp_url=ocsp_url or None, crl_url=crl_url or None
        )
        typer.echo("\n".join(f"{k}: {v}" for k, v in paths.items()))
        return
    if revoke_in is not None:
        from oblako.sign import revoke

        try:
            serial = revoke(revoke_in, path, reason)
        except (KepError, OSError, ValueError) as e:
            _fail(str(e))
        typer.echo(f"{path}: сертификат {serial:x} отозван")
        return
    from oblako.sign import sign_file

    if key is None or cert is None:
        _fail("для подписи нужны --key и --cert")
    try:
        der = sign_file(path, key, cert)
    except (KepError, OSError, ValueError) as e:
        _fail(str(e))
    target = out or path.with_name(path.name + ".sig")
    target.write_bytes(der)
    typer.echo(f"{target}: подпись {len(der)} байт")


@sim_app.command("ca")
def sim_ca(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8400,
    dir: Annotated[
        Path | None,
        typer.Option(help="the test CA dir whose revoked.json is answered from (oblako sign)"),
    ] = None,
    delegated: Annotated[
        bool, typer.Option(help="sign answers with a delegated OCSP responder certificate")
    ] = False,
    next_update: Annotated[float, typer.Option(help="seconds an answer stays valid")] = 600.0,
) -> None:
    """Run the test CA's OCSP responder (POST /ocsp) and CRL (GET /crl)."""
    from oblako.sign import REVOKED_FILE
    from simulator.ca import run_ca

    run_ca(
        host,
        port,
        store=dir / REVOKED_FILE if dir is not None else None,
        delegated=delegated,
        next_update_s=next_update,
    )


@sim_app.command("fns")
def sim_fns(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8200,
    root: Annotated[
        list[Path] | None, typer.Option(help="trusted root certificate (repeat; default: test CA)")
    ] = None,
    delay: Annotated[float, typer.Option(help="seconds before the RNM is assigned")] = 0.0,
) -> None:
    """Run the simulated tax service (registration applications, RNM, registration cards)."""
    from simulator.fns import run_fns

    run_fns(host, port, trusted_root_files=list(root or []), delay_s=delay)


@sim_app.command("edo")
def sim_edo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8300,
    sign_after: Annotated[float, typer.Option(help="seconds before the recipient signs")] = 2.0,
) -> None:
    """Run the simulated EDO operator (documents signed or refused later; faults at /control)."""
    from simulator.edo import run_edo

    run_edo(host, port, sign_after_s=sign_after)


@sim_app.command("smsc")
def sim_smsc(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8400,
    delay: Annotated[float, typer.Option(help="seconds before a message is delivered")] = 2.0,
    callback: Annotated[
        str | None, typer.Option(help="delivery-report URL (/api/delivery/dlr/smsc/<token>)")
    ] = None,
    login: Annotated[str, typer.Option(help="the account's login")] = "oblako",
    password: Annotated[str, typer.Option(help="the account's password")] = "smsc-test-password",
) -> None:
    """Run the simulated SMS and messenger gateway (SMSC.ru's HTTP API; reports to --callback)."""
    from simulator.channels.smsc import SmscState, run_smsc

    run_smsc(
        host, port, SmscState(login=login, password=password, delay_s=delay, callback_url=callback)
    )


@app.command("demo")
def demo(
    registers: Annotated[int, typer.Option(min=1, max=50, help="Сколько касс")] = 5,
    rate: Annotated[float, typer.Option(min=0.1, max=200, help="Чеков в секунду")] = 2.0,
    receipts: Annotated[
        int | None, typer.Option(min=0, help="Остановиться, когда столько чеков подтвердит ОФД")
    ] = None,
    port: Annotated[int, typer.Option(help="Порт кабинета (занят — любой свободный)")] = 8000,
    one_register: Annotated[
        bool, typer.Option("--one-register", help="Одна касса без парка: накопитель, смены, ОФД")
    ] = False,
) -> None:
    """The whole service on embedded defaults: fleet, cabinet, registers, receipts (make demo)."""
    if one_register:
        from oblako.demo import run_demo

        run_demo()
        return
    from oblako.demo_fleet import DemoError, run_fleet_demo

    try:
        run_fleet_demo(registers=registers, rate=rate, receipts=receipts, port=port)
    except DemoError as e:
        typer.echo(f"Демо остановлено: {e}", err=True)
        raise typer.Exit(1) from e


@gen_app.command("firmware-tags")
def gen_firmware_tags(
    check: Annotated[bool, typer.Option("--check", help="fail if the copy is stale")] = False,
) -> None:
    """Regenerate firmware/tagtable.py from protocol/tagdata.py."""
    from oblako.gen import FIRMWARE_TAGS, firmware_tags_in_sync, write_firmware_tags

    if check:
        if not firmware_tags_in_sync():
            _fail(f"{FIRMWARE_TAGS} is stale: run `make gen` and commit it")
        typer.echo("firmware/tagtable.py is in sync with protocol/tagdata.py")
        return
    changed = write_firmware_tags()
    typer.echo(f"{FIRMWARE_TAGS}: {'written' if changed else 'unchanged'}")


@bench_app.command("codec")
def bench_codec(
    seconds: Annotated[float, typer.Option(help="seconds per CPython measurement")] = 2.0,
    micropython: Annotated[bool, typer.Option(help="also run under MicroPython (Node)")] = True,
) -> None:
    """Encode+decode of a 20-item receipt: firmware codec, construct spec, MicroPython."""
    from rich.console import Console
    from rich.table import Table

    from bench.codec import measure, report

    console = Console()
    with console.status("измеряем кодеки…"):
        figures = measure(seconds, micropython)
    table = Table(title="oblako bench codec")
    for col in ("measurement", "figure", "ratio to baseline / target"):
        table.add_column(col)
    for row in report(figures):
        table.add_row(*row)
    console.print(table)


@gen_app.command("firmware-answers")
def gen_firmware_answers(
    check: Annotated[bool, typer.Option("--check", help="fail if the copy is stale")] = False,
) -> None:
    """Regenerate firmware/answertable.py from protocol/fn/codes.py."""
    from oblako.gen import FIRMWARE_ANSWERS, firmware_answers_in_sync, write_firmware_answers

    if check:
        if not firmware_answers_in_sync():
            _fail(f"{FIRMWARE_ANSWERS} is stale: run `make gen` and commit it")
        typer.echo("firmware/answertable.py is in sync with protocol/fn/codes.py")
        return
    changed = write_firmware_answers()
    typer.echo(f"{FIRMWARE_ANSWERS}: {'written' if changed else 'unchanged'}")


@gen_app.command("portable")
def gen_portable(
    check: Annotated[bool, typer.Option("--check", help="fail if the copy is stale")] = False,
) -> None:
    """Copy protocol/portable/ (shared rules, decision 2) into firmware/shared/."""
    from oblako.portable_gen import TARGET, portable_in_sync, write_portable

    if check:
        if not portable_in_sync():
            _fail(f"{TARGET} is stale: run `make gen` and commit it")
        typer.echo("firmware/shared/ is in sync with protocol/portable/")
        return
    changed = write_portable()
    typer.echo(f"{TARGET}: {'written' if changed else 'unchanged'}")


@gen_app.command("mqtt-schemas")
def gen_mqtt_schemas(
    check: Annotated[bool, typer.Option("--check", help="fail if the copy is stale")] = False,
) -> None:
    """Publish the MQTT link's JSON Schemas and examples into docs/mqtt/."""
    from oblako.mqtt_docs import TARGET, in_sync, write

    if check:
        if not in_sync():
            _fail(f"{TARGET} is stale: run `make gen` and commit it")
        typer.echo("docs/mqtt/ is in sync with protocol/mqtt")
        return
    typer.echo(f"{TARGET}: {'written' if write() else 'unchanged'}")


@bench_app.command("ofd")
def bench_ofd(
    receipts: Annotated[int, typer.Option(help="receipts per round (plus 2 reports)")] = 300,
    items: Annotated[int, typer.Option(help="items per receipt")] = 2,
    rounds: Annotated[int, typer.Option(help="rounds, the variants alternated")] = 5,
    seconds: Annotated[float, typer.Option(help="CPU seconds per codec measurement")] = 1.0,
) -> None:
    """The OFD simulator's CPU per document (construct → struct codec) and the decoders alone."""
    import os

    from rich.console import Console
    from rich.table import Table

    from bench.ofd_service import measure, report

    console = Console()
    with console.status("измеряем ОФД…"):
        figures = measure(receipts, items, rounds, seconds)
    title = f"oblako bench ofd ({figures.documents} documents, load {os.getloadavg()[0]:.1f})"
    table = Table(title=title)
    for col in ("measurement", "median", "rounds (ms a document)", "ratio"):
        table.add_column(col)
    for row in report(figures):
        table.add_row(*row)
    console.print(table)


@bench_app.command("drive")
def bench_drive(
    seconds: Annotated[float, typer.Option(help="seconds per setup")] = 3.0,
) -> None:
    """Receipts/s through driver + simulated drive over a pty, against the wire limit."""
    from rich.console import Console
    from rich.table import Table

    from bench.drive import measure, report

    console = Console()
    with console.status("продаём чеки через pty…"):
        figures = measure(seconds)
    table = Table(title="oblako bench drive (115200 бод, 8N1)")
    for col in ("emulation", "receipt", "rate", "against the limit"):
        table.add_column(col)
    for row in report(figures):
        table.add_row(*row)
    console.print(table)


@bench_app.command("register")
def bench_register(
    seconds: Annotated[float, typer.Option(help="seconds per measurement")] = 3.0,
    micropython: Annotated[bool, typer.Option(help="also run under MicroPython (Node)")] = True,
) -> None:
    """Receipts/s through runtime + simulated drive, and the runtime's CPU per receipt."""
    from rich.console import Console
    from rich.table import Table

    from bench.register import measure, report

    console = Console()
    with console.status("касса пробивает чеки…"):
        figures = measure(seconds, micropython)
    table = Table(title="oblako bench register (115200 бод)")
    for col in ("receipt", "rate over the pty", "wire time", "runtime CPU", "verdict"):
        table.add_column(col)
    for row in report(figures):
        table.add_row(*row)
    console.print(table)


@bench_app.command("register-hop")
def bench_register_hop(
    receipts: Annotated[int, typer.Option(help="receipts per variant and round")] = 60,
    rounds: Annotated[int, typer.Option(help="rounds (the variants alternate)")] = 4,
    pass3: Annotated[
        bool, typer.Option("--pass3", help="issue 8's third pass's variants, not stop 21's")
    ] = False,
) -> None:
    """The receipts bench's register hop (runtime + simulated drive on TCP) before/after."""
    import os

    from rich.console import Console
    from rich.table import Table

    from bench.register_hop import PASS3_VARIANTS, VARIANTS, measure

    console = Console()
    with console.status("кассы пробивают чеки…"):
        figures = measure(receipts, rounds, variants=PASS3_VARIANTS if pass3 else VARIANTS)
    base = figures[0].cpu_ms
    table = Table(title=f"oblako bench register-hop (load {os.getloadavg()[0]:.1f})")
    for col in ("variant", "CPU ms/receipt", "of it runtime", "ratio to before", "commands", "30h"):
        table.add_column(col)
    for f in figures:
        table.add_row(
            f.variant,
            f"{f.cpu_ms:.2f}",
            f"{f.runtime_ms:.2f}",
            f"{f.cpu_ms / base:.2f}",
            f"{f.commands / f.receipts:.0f}",
            f"{f.status_reads / f.receipts:.0f}",
        )
    console.print(table)


@bench_app.command("cabinet")
def bench_cabinet(
    database_url: Annotated[
        str, typer.Option(help="a PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    registers: Annotated[int, typer.Option(help="registers to load")] = 100_000,
    documents: Annotated[int, typer.Option(help="fiscal documents to load")] = 10_000_000,
    n: Annotated[int, typer.Option("-n", help="requests per kind")] = 200,
) -> None:
    """Register list and card latency (pages and API) against bare SQL, p95 target 100 ms."""
    from rich.console import Console

    from bench.cabinet import print_table, run

    console = Console()
    with console.status("загружаю базу…") as status:
        result = run(database_url, registers, documents, n=n, progress=status.update)
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


@bench_app.command("fleet")
def bench_fleet(
    database_url: Annotated[
        str, typer.Option(help="a PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    registers: Annotated[int, typer.Option(help="registers reporting their state")] = 10_000,
    n: Annotated[int, typer.Option("-n", help="requests per console page")] = 100,
) -> None:
    """The operator console over a reporting fleet: ingest, alarm latency, page p95."""
    from bench.console import print_table, run

    result = run(database_url, registers, n=n)
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


@bench_app.command("receipts")
def bench_receipts(
    registers: Annotated[int, typer.Option(help="simulated registers")] = 50,
    seconds: Annotated[float, typer.Option(help="seconds per phase")] = 20.0,
    senders: Annotated[int, typer.Option(help="concurrent API clients")] = 8,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    mqtt_url: Annotated[
        str | None,
        typer.Option(
            help="a broker; default: a private Mosquitto with deploy/mosquitto/mosquitto.conf "
            "(a broker on Mosquitto's default queue limit drops the fleet's messages in a "
            "burst); empty for the embedded broker"
        ),
    ] = None,
    register_processes: Annotated[
        int, typer.Option(help="child processes for the registers (0: threads of the fleet's)")
    ] = 2,
    api_processes: Annotated[
        int,
        typer.Option(
            help="child processes serving the API on one port (0: a thread of the fleet's)"
        ),
    ] = 2,
    fleet_processes: Annotated[
        bool,
        typer.Option(
            help="the ingest and the receipts worker each in a child process (PostgreSQL only; "
            "off: threads of the fleet's, whose statements then wait for its interpreter lock)"
        ),
    ] = True,
) -> None:
    """Receipts end to end (API → register → drive → ingest → OFD): rate, latency, CPU/hop."""
    import tempfile
    import uuid

    from rich.console import Console
    from rich.table import Table

    from bench.ingest import _Mosquitto
    from bench.receipts import measure, report
    from oblako.demo_fleet import BenchService, prepare
    from oblako.demo_stack import DemoStack, drop_database

    console = Console()
    name = f"oblako_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        broker = None
        if mqtt_url is None:
            password = uuid.uuid4().hex
            (Path(tmp) / "broker").mkdir()
            broker = _Mosquitto(Path(tmp) / "broker", "fleet-bench", password)
            mqtt_url = f"mqtt://fleet-bench:{password}@127.0.0.1:{broker.port}"
        try:
            with DemoStack(
                Path(tmp) / "stack",
                registers=registers,
                port=0,
                database_url=database_url or None,
                mqtt_url=mqtt_url or None,
                database_name=name,
                api_processes=api_processes if database_url else 0,  # SQLite: one writer
                fleet_processes=fleet_processes and bool(database_url),
            ) as stack:
                try:
                    account = prepare(
                        stack, console, registers, instant=True, processes=register_processes
                    )
                    svc = BenchService(stack, account)
                    if broker is not None:
                        svc.broker_pid = broker.proc.pid
                    with console.status("…") as status:
                        fig = measure(svc, seconds=seconds, senders=senders, progress=status.update)
                finally:
                    stack.close()
                    drop_database(database_url, name)
        finally:
            if broker is not None:
                broker.stop()
    table = Table(title=f"Чеки от API до ОФД: {registers} касс, {fig.database}")
    for col in ("что", "значение", "сравнение"):
        table.add_column(col)
    for row in report(fig):
        table.add_row(*row)
    console.print(table)


@bench_app.command("receipt-search")
def bench_receipt_search(
    database_url: Annotated[
        str, typer.Option(help="a PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    registers: Annotated[int, typer.Option(help="registers to load")] = 100_000,
    documents: Annotated[int, typer.Option(help="fiscal documents to load")] = 10_000_000,
    n: Annotated[int, typer.Option("-n", help="requests per kind")] = 200,
    plans: Annotated[
        Path | None, typer.Option(help="write each query's EXPLAIN (ANALYZE, BUFFERS) here")
    ] = None,
) -> None:
    """Receipt search and the marked-goods list over 10M documents, p95 target 50 ms."""
    from rich.console import Console

    from bench.receipt_search import print_table, run

    console = Console()
    with console.status("загружаю базу…") as status:
        result = run(database_url, registers, documents, n=n, plans=plans, progress=status.update)
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


@bench_app.command("compliance")
def bench_compliance(
    database_url: Annotated[
        str, typer.Option(help="a PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    registers: Annotated[int, typer.Option(help="registers to load")] = 10_000,
    documents: Annotated[int, typer.Option(help="fiscal documents to load (COPY)")] = 10_000_000,
) -> None:
    """The weekly fines-control run (every check, every register): target under 60 s."""
    from rich.console import Console

    from bench.compliance import print_table, run

    with Console().status("загружаю базу…") as status:
        result = run(database_url, registers, documents, progress=status.update)
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


@bench_app.command("reports")
def bench_reports(
    database_url: Annotated[
        str, typer.Option(help="a PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    registers: Annotated[int, typer.Option(help="registers of the one company")] = 200,
    documents: Annotated[int, typer.Option(help="receipts to load (COPY)")] = 10_000_000,
    n: Annotated[int, typer.Option("-n", help="builds per report and period")] = 5,
) -> None:
    """Every ready report for a month and a year: p95 under 1 s and 5 s (issue 12)."""
    from rich.console import Console

    from bench.reports import print_table, run

    with Console().status("загружаю базу…") as status:
        result = run(database_url, registers, documents, n=n, progress=status.update)
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


@bench_app.command("forecast")
def bench_forecast(
    database_url: Annotated[
        str, typer.Option(help="a PostgreSQL server (a throwaway database is made on it)")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    registers: Annotated[int, typer.Option(help="registers (one drive each)")] = 100_000,
    days: Annotated[int, typer.Option(help="days of reported history per drive")] = 365,
    repeats: Annotated[int, typer.Option(help="timed runs of each kind")] = 3,
) -> None:
    """Drive replacement forecast from scratch and after a day's reports (targets 2 s, 200 ms)."""
    from rich.console import Console

    from bench.forecast import print_table, run

    with Console().status("загружаю историю…") as status:
        result = run(database_url, registers, days, repeats=repeats, progress=status.update)
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


@bench_app.command("ingest")
def bench_ingest(
    mqtt_url: Annotated[
        str | None, typer.Option(help="a broker (default: a private Mosquitto, shipped config)")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="default: a SQLite file")] = None,
    registers: Annotated[int, typer.Option(help="simulated registers")] = 100,
    documents: Annotated[int, typer.Option(help="document events in the stream")] = 20_000,
    workers: Annotated[list[int] | None, typer.Option(help="ingest workers (repeat)")] = None,
) -> None:
    """MQTT ingest documents/s and CPU per document against a do-nothing QoS 1 subscriber."""
    from rich.console import Console

    from bench.ingest import print_table, run

    results = []
    with Console().status("поток документов через брокер…"):
        for n in workers or [1, 2]:
            results.append(
                run(mqtt_url, registers, documents, workers=n, database_url=database_url)
            )
    print_table(results)


firmware_app = typer.Typer(help="Register firmware: build, flash, provision.", no_args_is_help=True)
app.add_typer(firmware_app, name="firmware")


@firmware_app.command("build")
def firmware_build(
    version: Annotated[str, typer.Option(help="the bundle's version")],
    out: Annotated[Path, typer.Option(help="where the bundle goes")] = Path("dist/firmware"),
    ram: Annotated[bool, typer.Option(help="also check the heap under MicroPython")] = False,
    key: Annotated[
        Path | None, typer.Option(help="sign with this Ed25519 key file (firmware keygen)")
    ] = None,
) -> None:
    """Compile firmware/ with mpy-cross into a bundle; fails past the board's budget."""
    from oblako.firmware_build import BOARD, BuildError, build, ram_estimate

    try:
        built = build(version, out, key=key)
        heap = ram_estimate() if ram else None
    except BuildError as e:
        _fail(str(e))
    m = built.manifest
    typer.echo(f"{built.bundle}: {m['bundle_size']} байт из {BOARD.flash_budget} ({BOARD.name})")
    typer.echo(f"SHA-256 {m['bundle_sha256']}; манифест {built.manifest_path}")
    if heap is not None:
        typer.echo(f"куча после импорта: {heap} байт из {BOARD.ram_budget}")
    if "public_key" in m:
        typer.echo(f"подписан ключом {m['public_key']}")


@firmware_app.command("keygen")
def firmware_keygen(
    out: Annotated[Path, typer.Argument(help="the secret key file to create (mode 600)")],
) -> None:
    """Make the build's Ed25519 signing key; prints its public half (provision --fw-key)."""
    from oblako.firmware_build import BuildError, keygen

    try:
        typer.echo(keygen(out))
    except BuildError as e:
        _fail(str(e))


@firmware_app.command("flash")
def firmware_flash(
    bundle: Annotated[Path, typer.Argument(help="oblako-fw-VERSION.bin")],
    port: Annotated[str, typer.Option("--port", help="the board: /dev/ttyACM0, rfc2217://…")],
    sha256: Annotated[str | None, typer.Option(help="default: from the .json beside it")] = None,
) -> None:
    """Check the bundle's hash and install it into slot a of a board with mpremote."""
    from oblako.firmware_build import BuildError, flash

    try:
        want = sha256 or json.loads(bundle.with_suffix(".json").read_text())["bundle_sha256"]
        flash(bundle, want, port)
    except (BuildError, OSError, KeyError, ValueError) as e:
        _fail(str(e))
    typer.echo(f"{bundle.name} установлен на {port}")


@firmware_app.command("provision")
def firmware_provision(
    serial: Annotated[str, typer.Argument(help="the register's serial (its MQTT user)")],
    mqtt_url: Annotated[str, typer.Option("--mqtt", help="the broker the board will use")] = (
        "mqtts://127.0.0.1:8883"
    ),
    root: Annotated[str, typer.Option(help="the MQTT topic root")] = "oblako",
    ca: Annotated[Path | None, typer.Option(help="the broker's CA certificate (PEM)")] = None,
    out: Annotated[Path, typer.Option(help="where identity.json goes")] = Path("board"),
    port: Annotated[str | None, typer.Option(help="also copy the files to this board")] = None,
    fw_key: Annotated[
        Path | None,
        typer.Option(help="the build's key file: the board installs only bundles it signed"),
    ] = None,
) -> None:
    """Give a board its identity, broker credentials and CA certificate."""
    from fleet.core.errors import DomainError
    from oblako.firmware_build import (
        BuildError,
        provision_commands,
        provision_files,
        public_key_of,
    )
    from oblako.fleet_admin import provision

    try:
        identity = json.loads(provision(serial, mqtt_url, root))
        if fw_key is not None:
            identity["fw_key"] = public_key_of(fw_key)
        files = provision_files(identity, out, ca)
    except (DomainError, BuildError, OSError) as e:
        _fail(getattr(e, "message", str(e)))
    if port is not None:
        import subprocess

        for argv in provision_commands(port, files):
            if subprocess.run(argv, check=False).returncode != 0:
                _fail(f"mpremote не скопировал файл: {' '.join(argv)}")
    typer.echo(f"{', '.join(str(f) for f in files)}: личность кассы {serial} записана")


@bench_app.command("delivery")
def bench_delivery(
    database_url: Annotated[
        str | None,
        typer.Option(help="default: a SQLite file; a PostgreSQL server gets a throwaway database"),
    ] = None,
    rate: Annotated[int, typer.Option(help="receipts fiscalised per second")] = 200,
    seconds: Annotated[float, typer.Option(help="length of the steady stream")] = 20.0,
    burst: Annotated[int, typer.Option(help="receipts at once for the throughput")] = 3000,
    workers: Annotated[
        int, typer.Option(help="worker processes (and as many bare SMTP senders)")
    ] = 2,
    sinks: Annotated[int, typer.Option(help="SMTP sink processes on one port")] = 2,
    loops: Annotated[int, typer.Option(help="passes in flight in each worker process")] = 1,
) -> None:
    """E-receipts through the cascade to an SMTP sink: p99 to first attempt < 5 s at 200/s,
    throughput ≥ 70 % of bare SMTP (issue 10)."""
    from rich.console import Console

    from bench.delivery import print_table, run

    with Console().status("готовлю…") as status:
        result = run(
            database_url,
            rate=rate,
            seconds=seconds,
            burst=burst,
            workers=workers,
            sinks=sinks,
            loops=loops,
            progress=status.update,
        )
    print_table(result)
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point for `python -m oblako`."""
    app(args=sys.argv[1:])
