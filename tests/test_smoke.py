from tests import flows
from tests.harness import Harness


async def test_order_reaches_summary(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.fill_order(nurse)
    assert nurse.last.text.startswith(nurse.t("form.order.summary"))
