"""``tuopin app``: the planner dashboard in the browser (a Solara page on this computer)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import warnings
from pathlib import Path

from tuopin.errors import UserError

HELP = """\
Open the planner dashboard: a page in your web browser where you pick a plan (scenario) and see
its baseline, move the levers and see what they change. Nothing is sent anywhere; the page is
served by this computer.

Start it, then open the address it prints (default http://127.0.0.1:8765) in a browser:

  tuopin app
  tuopin app --port 8800          if 8765 is taken

On the page (left column), from top to bottom (hover over ⓘ for what each means and its unit):
  language                 English or 中文 for every label, figure and message
  Scenario                 a plan file from scenarios/ (or a variant from scenarios/variants/)
  Budget                   multiple of the plan's funds, e.g. 0.8 for a 20% cut
  Relocation capacity      multiple of the people relocated each year (易地搬迁)
  Industry & employment    multiple of the people given industry or job support each year
  Support after exit       years support continues after a household exits (脱贫不脱政策)
  Target pressure          share of a year's shortfall declared exited anyway (raises relapse)
  Replicates               independent runs; more give steadier bands but take longer
  Scale                    simulated people per real person; the default keeps a run to seconds
  Random seed              the same seed and levers give the same numbers

The page opens on the scenario's baseline, already running. Move a lever and press Run: the
baseline and the variant run on the same random numbers, and the page shows them side by side:
the headline quantities (declared exits, net reduction, people still poor, relapses, people ever
lifted out, villages and counties exited) with the plan, P(meet) and its 95% interval, the
paired difference with its 90% band and P(variant better); per year the exits against the plan
and P(meet); charts; the counties ranked by how far their poverty incidence is above the exit
threshold; and the poor villages as squares coloured by the year they exited. Tables (CSV) and
figures (PNG, SVG) can be downloaded. A bad value shows a message on the page.

Only this computer's browser may use the page: requests whose Host or Origin is not the served
address are refused (no other web site can start runs through it). With --host other than
127.0.0.1 or localhost, anyone who can reach that address on the network can start runs; tuopin
warns when it starts.

Stop the dashboard with Ctrl+C. For more replicates or a full-scale run, use 'tuopin run'.

Without --households the dashboard draws each scenario's synthetic register and simulates from
the plan's first year. With --households FILE (a county's own 建档立卡 register, as for 'tuopin
run'; format: scenarios/data/README.md) every run simulates that register at scale 1, and a
"Start year" control under the seed starts from the register's state in a later year of the
plan ("do we meet next year's target?"); pick the scenario the register belongs to. A bad row
or a register that does not match the scenario shows a message on the page.

  tuopin app --households scenarios/data/township_register_2017.xlsx    then pick township.yaml, 2018
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin app``."""
    p = sub.add_parser("app", help="open the planner dashboard in a web browser", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8765, metavar="P", help="port to serve on (default 8765)")
    p.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--scenarios", type=Path, metavar="DIR",
                   help="folder of scenario files to offer (default: the scenarios/ folder of tuopin)")
    p.add_argument("--households", type=Path, metavar="FILE",
                   help="household register to simulate (.xlsx, .xls or CSV; see scenarios/data/README.md)")
    p.add_argument("--register-map", type=Path, metavar="MAP.yaml", help="YAML mapping of the register's names")
    p.add_argument("--allow-partial", action="store_true",
                   help="simulate a register whose totals differ from the scenario's by more than 10%%")
    p.set_defaults(func=main)


def check_port(host: str, port: int) -> None:
    """Raise a UserError if ``host:port`` cannot be listened on (taken, or not a valid port)."""
    if not 1 <= port <= 65535:
        raise UserError(f"expected a port from 1 to 65535, got {port}", source="app", key="--port")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port",
                            source="app", key="--port") from None


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin app``: serve the dashboard until Ctrl+C."""
    if args.scenarios is not None:
        if not args.scenarios.is_dir():
            raise UserError("not a folder", source=str(args.scenarios), key="--scenarios")
        os.environ["TUOPIN_SCENARIOS"] = str(args.scenarios.resolve())
    for option, path in (("--households", args.households), ("--register-map", args.register_map)):
        if path is not None and not path.is_file():
            raise UserError("file not found", source=str(path), key=option)
    if args.households is not None:
        os.environ["TUOPIN_HOUSEHOLDS"] = str(args.households.resolve())
        if args.register_map is not None:
            os.environ["TUOPIN_REGISTER_MAP"] = str(args.register_map.resolve())
        os.environ["TUOPIN_ALLOW_PARTIAL"] = "1" if args.allow_partial else "0"
    check_port(args.host, args.port)
    # Solara reads these when it is imported: the page, production mode, and no calls home.
    os.environ["SOLARA_APP"] = "tuopin.app.page"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_THEME_SHOW_BANNER"] = "False"  # Solara's English banner sat over the last table row
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = args.host, str(args.port)
    import uvicorn

    # plain http on loopback is intended; Solara's advice about https cookies is noise here
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    import solara.server.starlette

    from tuopin.app.guard import OriginGuard, is_loopback

    if not is_loopback(args.host):
        print(f"tuopin: warning: --host {args.host} is not this computer only: anyone who can reach it on the "
              "network can open the dashboard and start runs", file=sys.stderr, flush=True)
    app = OriginGuard(solara.server.starlette.app, args.host, args.port)
    print(f"tuopin dashboard: open http://{args.host}:{args.port} in a browser (Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
