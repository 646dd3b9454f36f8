"""Run a microsig order schedule through hftbacktest 2.4.4, in hftbacktest's own virtual environment.

hftbacktest pins numpy < 2.3 and numba 0.61-era releases, so it cannot share microsig's environment: `make hbt-venv`
builds `.venv-hbt` from `requirements-hbt.lock`, and microsig (`microsig.peer`) talks to this script through files.

    .venv-hbt/bin/python bench/hbt_runner.py convert CAPTURE.gz OUT.npz --md-latency-ns 1000000
    .venv-hbt/bin/python bench/hbt_runner.py run EVENTS.npz SCHEDULE.npz OUT.npz

`convert` is hftbacktest's own Binance-futures converter, then a constant feed latency (local = exchange time +
md latency), as microsig's `md_latency` models it. `run` reads the schedule (decision local times, target positions,
order kind, queue model, latencies, tick and lot) and writes, per order, what hftbacktest did with it.
"""
import argparse, json, sys
import numpy as np

def convert(capture, out, md_latency_ns):
    "hftbacktest's converter, then local_ts = exch_ts + md latency (one row per event, in exchange order)."
    from hftbacktest.data.utils import binancefutures
    from hftbacktest.types import EXCH_EVENT, LOCAL_EVENT
    ev = binancefutures.convert(capture, combined_stream=True)
    ev = ev[(ev["ev"] & EXCH_EVENT) != 0].copy()          # each event once: its exchange-side row
    ev["local_ts"] = ev["exch_ts"] + int(md_latency_ns)
    ev["ev"] |= LOCAL_EVENT
    np.savez_compressed(out, data=ev)
    print(json.dumps({"events": int(len(ev)), "first_exch_ns": int(ev["exch_ts"][0]), "last_exch_ns": int(ev["exch_ts"][-1])}))

def _asset(events, s):
    from hftbacktest import BacktestAsset
    a = (BacktestAsset().data([events]).linear_asset(1.0)
         .constant_order_latency(int(s["entry_latency_ns"]), int(s.get("response_latency_ns", 0)))
         .trading_value_fee_model(0.0, 0.0)
         .tick_size(float(s["tick_size"])).lot_size(float(s["lot_size"])).last_trades_capacity(0))
    # market orders walk the book (partial fills); one-lot passive orders fill whole, and hftbacktest 2.4.4's
    # partial-fill exchange panics when a resting order is filled in part and then cancelled
    a = a.partial_fill_exchange() if s["order"] == "market" else a.no_partial_fill_exchange()
    if s["queue"] == "risk_averse": a = a.risk_adverse_queue_model()
    else: a = a.power_prob_queue_model(float(s["power"]))
    return a

def run(events_path, schedule_path, out):
    "Elapse to each decision time, cancel the resting order, send the order for target - position; record everything."
    from hftbacktest import HashMapMarketDepthBacktest
    from hftbacktest.order import GTC, IOC, LIMIT, MARKET
    events = np.load(events_path)["data"]
    z = np.load(schedule_path)
    s = json.loads(str(z["spec"]))
    t_dec, target = z["t_ns"].astype(np.int64), z["target"].astype(float)
    import time
    t0 = time.perf_counter()
    hbt = HashMapMarketDepthBacktest([_asset(events, s)])
    lot, eps = float(s["lot_size"]), 1e-9 * float(s["lot_size"])
    passive = s["order"] == "limit"
    rows, checks, resting, sent = [], [], None, []
    def position():
        # the exchange's own record of each order (qty - leaves): hftbacktest's local account applies only the last
        # of several fills that reach it at one timestamp, so a market order sweeping levels would be miscounted
        p = 0.0
        for oid, side in sent:
            o = hbt.orders(0).get(oid)
            if o is not None: p += side * (o.qty - o.leaves_qty)
        return p
    for k in range(len(t_dec)):
        now = hbt.current_timestamp
        if now >= 2 ** 62: hbt.elapse(0); now = hbt.current_timestamp   # not started: the clock opens at the first event
        if t_dec[k] > now: hbt.elapse(int(t_dec[k] - now))
        d = hbt.depth(0)
        pos = position()
        bb, ba, bq, aq = d.best_bid, d.best_ask, d.best_bid_qty, d.best_ask_qty
        checks.append((hbt.current_timestamp, bb, bq, ba, aq, pos))
        if resting is not None:
            o = hbt.orders(0).get(resting)
            if o is not None and o.cancellable: hbt.cancel(0, resting, False)
        q = round((target[k] - pos) / lot) * lot
        oid = k + 1
        if abs(q) > eps:
            buy = q > 0
            if passive: px, tif, kind = (bb if buy else ba), GTC, LIMIT
            else: px, tif, kind = (ba if buy else bb), IOC, MARKET    # hftbacktest walks up to 100 ticks from the best
            (hbt.submit_buy_order if buy else hbt.submit_sell_order)(0, oid, px, abs(q), tif, kind, False)
            sent.append((oid, 1.0 if buy else -1.0))
            resting = oid if passive else None
        rows.append((k, oid if abs(q) > eps else 0, q))
    hbt.elapse(int(s.get("tail_ns", 1_000_000_000)))
    d = hbt.depth(0)
    checks.append((hbt.current_timestamp, d.best_bid, d.best_bid_qty, d.best_ask, d.best_ask_qty, position()))
    # every order's final state: filled quantity, the price of its last fill, the exchange time of its last event
    orders = []
    for k, oid, q in rows:
        o = hbt.orders(0).get(oid) if oid else None
        if o is None: orders.append((k, oid, q, 0.0, np.nan, -1, -1)); continue
        orders.append((k, oid, q, o.qty - o.leaves_qty, o.exec_price if o.qty > o.leaves_qty else np.nan, o.exch_timestamp, o.status))
    hbt.close()
    o = np.array(orders, float)
    np.savez_compressed(out, orders=o, order_exch_ns=np.array([r[5] for r in orders], np.int64), checks=np.array(checks, float),
                        check_ns=np.array([c[0] for c in checks], np.int64))
    print(json.dumps({"decisions": len(rows), "orders": int((o[:, 1] > 0).sum()), "final_position": checks[-1][5],
                      "engine_s": time.perf_counter() - t0}))

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert"); c.add_argument("capture"); c.add_argument("out"); c.add_argument("--md-latency-ns", type=int, default=1_000_000)
    r = sub.add_parser("run"); r.add_argument("events"); r.add_argument("schedule"); r.add_argument("out")
    a = ap.parse_args()
    convert(a.capture, a.out, a.md_latency_ns) if a.cmd == "convert" else run(a.events, a.schedule, a.out)
