"""The C-MOVE destination of the imaging benchmark, as ../shared/bench/orthanc/bench.py runs it:
a pynetdicom storage SCP in the benchmark's own process that accepts CT images in explicit VR
little endian and keeps the size of each data set it receives. Benchmarks/imaging.py moves a
series to it; Benchmarks/client_floor.py measures how fast it takes one."""
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import CTImageStorage


def start(port, host="127.0.0.1"):
    """The running server (stop it with `shutdown()`) and the list its C-STOREs fill."""
    received = []
    receiver = AE(ae_title="BENCHSCP")
    receiver.add_supported_context(CTImageStorage, ExplicitVRLittleEndian)

    def on_store(event):
        received.append(len(event.request.DataSet.getvalue()))
        return 0x0000

    return receiver.start_server((host, port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]), received
