"""``chainrule serve``: the web explorer of expressions and their backpropagation."""

from __future__ import annotations

import argparse
import math
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``chainrule`` command."""
    parser = subparsers.add_parser(
        "serve",
        help="open the web explorer: type an expression, see its graph, values and gradients",
        description=(
            "Serve the explorer page on this machine and print its URL. Type an expression, "
            "set each variable with a number field or slider, and click a variable to see "
            "the chain-rule products along the paths its gradient flows. With --trace FILE, "
            "explore a trace saved from a program (trace.save(FILE)): every node's value "
            "and gradient, name scopes that open on click, a variable's gradient paths."
        ),
    )
    parser.add_argument(
        "expr", nargs="?", default=None, help='expression to open with, e.g. "(4*x+1)^2"'
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="open a trace saved with trace.save(FILE) (or a graph) instead of an expression",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: only this machine can connect)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default 0: a free port)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL without opening a browser"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        help="seconds one computation may take before it is stopped (default 5)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="computations that may run at the same time (default 2)",
    )
    parser.set_defaults(run=run)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds: nan or inf would leave runaway computations running."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive, finite number of seconds such as 5, got {text}"
        )
    return value


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 1 if the web extra is missing or the address is unusable."""
    try:
        from ..web.server import serve
    except ImportError as err:
        print(
            f"chainrule serve needs the web extra ({err.name} is missing): "
            "pip install 'chainrule[web]'",
            file=sys.stderr,
        )
        return 1
    from ..errors import ChainruleError

    graph = None
    if args.trace is not None:
        from ..tracefile import load

        try:
            graph = load(args.trace)
        except OSError as err:
            print(f"chainrule serve: cannot read {args.trace}: {err.strerror}", file=sys.stderr)
            return 2
        except ChainruleError as err:
            print(f"chainrule serve: {err}", file=sys.stderr)
            return 2
    try:
        serve(
            host=args.host,
            port=args.port,
            open_browser=not args.no_browser,
            expr=args.expr,
            workers=args.workers,
            timeout=args.timeout,
            graph=graph,
        )
    except ChainruleError as err:
        print(f"chainrule serve: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"chainrule serve: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
