import requests

IMAGE_SERVICE = "http://127.0.0.1:9000"


class ImageService:
    def __init__(self, base_url: str = IMAGE_SERVICE) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def make_thumbnail(self, name: str) -> None:
        self.session.post(f"{self.base_url}/thumbnails", json={"name": name}, timeout=10)


images = ImageService()
