import asyncio
import time

from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from app.db import get_db
from app.services.email import send_email, send_welcome_email
from app.services.webhooks import notify_warehouse

router = APIRouter(prefix="/reports")


async def build_sales_report(month: str) -> None:
    # An async task that sleeps synchronously: it stalls the server after the response.
    time.sleep(2)
    with open(f"/tmp/sales-{month}.csv", "w") as out:
        out.write("month,total\n")


def write_export_log(db: Session, month: str) -> None:
    db.execute("INSERT INTO exports (month) VALUES (:month)", {"month": month})
    db.commit()


def cleanup_tmp() -> None:
    pass


@router.post("/sales/{month}")
async def sales_report(month: str, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
    background_tasks.add_task(build_sales_report, month)
    # FastAPI 0.110 closes the yield dependency's session before this task runs.
    background_tasks.add_task(write_export_log, db, month)
    # The e-mail is sent now, in the handler; its result (None) is scheduled as the task.
    background_tasks.add_task(send_welcome_email("finance@example.com"))
    background_tasks.add_task(send_email, "finance@example.com", "Report", f"Sales report {month} queued")
    return {"queued": month}


@router.post("/inventory")
async def inventory_report(background_tasks: BackgroundTasks):
    background_tasks.add_task(send_email, "ops@example.com", "Inventory", "Inventory report queued")
    # The Response carries its own background task, so the injected tasks above never run.
    return JSONResponse({"queued": True}, background=BackgroundTask(cleanup_tmp))


@router.post("/restock/{order_id}")
async def restock(order_id: int):
    # Nobody keeps the task: it can be garbage-collected mid-run and its errors are lost.
    asyncio.create_task(notify_warehouse(order_id))
    return {"restocking": order_id}
