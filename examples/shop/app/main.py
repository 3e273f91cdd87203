from fastapi import FastAPI

from app.api import auth, orders, reports, uploads, users

app = FastAPI(title="Shop")
app.include_router(users.router)
app.include_router(uploads.router)
app.include_router(orders.router)
app.include_router(auth.router)
app.include_router(reports.router)
