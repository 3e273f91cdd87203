from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_db
from app.services.email import send_email
from app.services.webhooks import notify_warehouse, record_audit

router = APIRouter(prefix="/orders")


@router.post("/")
async def place_order(item: str, db: Session = Depends(get_db)):
    order_id = db.execute("INSERT INTO orders (item) VALUES (:item)", {"item": item}).lastrowid
    db.commit()
    await notify_warehouse(order_id)
    send_email("warehouse@example.com", "New order", f"Order {order_id}: {item}")
    record_audit(order_id)
    return {"order": order_id}
