"""A two-task Airflow DAG over file assets, the Airflow producer of dpgraph's end-to-end tests.

``clean_orders`` reads ``raw_orders.csv`` and writes ``clean_orders.csv`` (valid, shipped
orders only); ``summarize_orders`` reads that and writes ``customer_totals.csv``. Each task
declares its files as Airflow 3 assets (``inlets``/``outlets``), which the OpenLineage
provider reports as the task run's input and output datasets (namespace ``file``, name the
absolute path).

The files live in ``$ORDERS_DATA_DIR`` (default ``/tmp/dpgraph-airflow-orders``), which must
hold ``raw_orders.csv`` (a copy of ``../data/raw_orders.csv``). Run it without scheduler::

    AIRFLOW__CORE__DAGS_FOLDER=examples/airflow/dags \\
    AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "http", "url": "http://127.0.0.1:8000"}' \\
    airflow dags test dpgraph_orders
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset

DATA_DIR = Path(os.environ.get("ORDERS_DATA_DIR", "/tmp/dpgraph-airflow-orders")).resolve()
RAW = DATA_DIR / "raw_orders.csv"
CLEAN = DATA_DIR / "clean_orders.csv"
TOTALS = DATA_DIR / "customer_totals.csv"

RAW_ORDERS = Asset(uri=RAW.as_uri(), name="raw_orders")
CLEAN_ORDERS = Asset(uri=CLEAN.as_uri(), name="clean_orders")
CUSTOMER_TOTALS = Asset(uri=TOTALS.as_uri(), name="customer_totals")


def clean_orders() -> int:
    """Keep shipped orders with an amount; normalise the status. Returns the rows written."""
    with RAW.open(newline="", encoding="utf-8") as src:
        rows = list(csv.DictReader(src))
    kept = []
    for row in rows:
        status = row["status"].strip().lower()
        try:
            amount = Decimal(row["amount"])
        except InvalidOperation:
            continue
        if status == "shipped":
            kept.append({"order_id": row["order_id"], "customer_id": row["customer_id"],
                         "amount": f"{amount:.2f}"})
    with CLEAN.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.DictWriter(dst, fieldnames=["order_id", "customer_id", "amount"])
        writer.writeheader()
        writer.writerows(kept)
    return len(kept)


def summarize_orders() -> int:
    """Total amount and order count per customer. Returns the rows written."""
    totals: dict[str, list[Decimal]] = defaultdict(list)
    with CLEAN.open(newline="", encoding="utf-8") as src:
        for row in csv.DictReader(src):
            totals[row["customer_id"]].append(Decimal(row["amount"]))
    with TOTALS.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst)
        writer.writerow(["customer_id", "orders", "total_amount"])
        for customer, amounts in sorted(totals.items()):
            writer.writerow([customer, len(amounts), f"{sum(amounts):.2f}"])
    return len(totals)


with DAG(
    dag_id="dpgraph_orders",
    description="Clean raw orders, then total them per customer (file assets).",
    schedule=None,
    catchup=False,
    tags=["dpgraph", "example"],
) as dag:
    clean = PythonOperator(task_id="clean_orders", python_callable=clean_orders,
                           inlets=[RAW_ORDERS], outlets=[CLEAN_ORDERS])
    summarize = PythonOperator(task_id="summarize_orders", python_callable=summarize_orders,
                               inlets=[CLEAN_ORDERS], outlets=[CUSTOMER_TOTALS])
    clean >> summarize
