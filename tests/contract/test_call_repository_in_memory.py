import pytest

from tests.contract.call_repository_contract import CallRepositoryContract
from voice_agent.adapters.fakes.repository import InMemoryCallRepository


@pytest.fixture
def repository() -> InMemoryCallRepository:
    return InMemoryCallRepository()


class TestInMemoryCallRepository(CallRepositoryContract):
    pass
