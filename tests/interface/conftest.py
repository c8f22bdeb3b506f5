import pytest

from vall_e import Interface, InterfaceConfig


@pytest.fixture(scope="session")
def llm_interface(tiny_llm_run):
    return Interface(InterfaceConfig(model_path=str(tiny_llm_run.checkpoint), device="cpu"))


@pytest.fixture(scope="session")
def llm_speaker(llm_interface, tiny_llm_run):
    return llm_interface.create_speaker(tiny_llm_run.reference())


@pytest.fixture(scope="session")
def orpheus_interface(orpheus_dir, snac_dir):
    return Interface(InterfaceConfig(model_path=str(orpheus_dir), codec_path=str(snac_dir), device="cpu"))
