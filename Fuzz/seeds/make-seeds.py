#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs (Fuzz/seeds/part10, Fuzz/seeds/pdu): small files of
Hygie's own making, one per encoding path the parsers take, from which libFuzzer mutates.

    .build/interop-venv/bin/python Fuzz/seeds/make-seeds.py

Needs pydicom and numpy (the interoperability venv has them).
"""
import os
import struct

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian,
                         JPEGBaseline8Bit, RLELossless, generate_uid)

HERE = os.path.dirname(os.path.abspath(__file__))


def dataset(rows=4, columns=4, samples=1, bits=16, photometric="MONOCHROME2"):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1452.500.1.1"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1452.500"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1452.500.1"
    ds.PatientName = "Müller^Zoé"
    ds.PatientID = "SEED-1"
    ds.StudyDate = "20261207"
    ds.Modality = "CT"
    ds.RescaleSlope = "1.5"
    ds.RescaleIntercept = "-1024"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.1452.500.1.2"
    ds.ReferencedImageSequence = Sequence([item])
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, samples
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = photometric
    if samples == 3:
        ds.PlanarConfiguration = 0
    dtype = np.uint16 if bits == 16 else np.uint8
    pixels = (np.arange(rows * columns * samples) * 37 % 251).astype(dtype)
    ds.PixelData = pixels.tobytes()
    return ds


def with_meta(ds, syntax):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    return ds


def save(ds, syntax, name):
    with_meta(ds, syntax)
    ds.save_as(os.path.join(HERE, "part10", name), enforce_file_format=True)


def part10():
    os.makedirs(os.path.join(HERE, "part10"), exist_ok=True)
    for syntax, name in ((ExplicitVRLittleEndian, "explicit-le.dcm"), (ImplicitVRLittleEndian, "implicit-le.dcm"),
                         (ExplicitVRBigEndian, "explicit-be.dcm"), (DeflatedExplicitVRLittleEndian, "deflated.dcm")):
        save(dataset(), syntax, name)
    save(dataset(samples=3, bits=8, photometric="RGB"), ExplicitVRLittleEndian, "rgb.dcm")
    rle = with_meta(dataset(bits=8), ExplicitVRLittleEndian)
    rle.compress(RLELossless, encoding_plugin="pydicom")
    save(rle, RLELossless, "rle.dcm")
    encapsulated = dataset(bits=8)
    encapsulated.PixelData = encapsulate([b"\xff\xd8\xff\xe0 not a real JPEG \xff\xd9", b"\x00\x01\x02\x03"])
    encapsulated["PixelData"].VR = "OB"
    encapsulated["PixelData"].is_undefined_length = True
    save(encapsulated, JPEGBaseline8Bit, "encapsulated.dcm")
    iso2022 = dataset()
    iso2022.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    iso2022["PatientName"].value = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"
    save(iso2022, ExplicitVRLittleEndian, "iso2022.dcm")


def item(kind, body):
    return struct.pack(">BBH", kind, 0, len(body)) + body


def pdu(kind, body):
    return struct.pack(">BBI", kind, 0, len(body)) + body


def associate(kind, called, calling, contexts):
    header = struct.pack(">HH", 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode() + bytes(32)
    user = item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.826.0.1.3680043.10.1452.1") + item(0x55, b"SEED"))
    return pdu(kind, header + item(0x10, b"1.2.840.10008.3.1.1.1") + contexts + user)


def command(elements):
    """An implicit VR little endian command set, group length first (PS3.7 §E.1)."""
    body = b""
    for (group, element), value in elements:
        if isinstance(value, int):
            value = struct.pack("<H", value)
        elif len(value) % 2:
            value += b"\0"
        body += struct.pack("<HHI", group, element, len(value)) + value
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


def pdata(values):
    body = b"".join(struct.pack(">IBB", len(data) + 2, context, header) + data for context, header, data in values)
    return pdu(0x04, body)


def pdus():
    os.makedirs(os.path.join(HERE, "pdu"), exist_ok=True)
    proposed = item(0x20, bytes([1, 0, 0, 0]) + item(0x30, b"1.2.840.10008.1.1") + item(0x40, b"1.2.840.10008.1.2"))
    proposed += item(0x20, bytes([3, 0, 0, 0]) + item(0x30, b"1.2.840.10008.5.1.4.1.1.2") + item(0x40, b"1.2.840.10008.1.2.1")
                     + item(0x40, b"1.2.840.10008.1.2"))
    accepted = item(0x21, bytes([1, 0, 0, 0]) + item(0x40, b"1.2.840.10008.1.2"))
    echo = command([((0, 2), b"1.2.840.10008.1.1"), ((0, 0x100), 0x0030), ((0, 0x110), 1), ((0, 0x800), 0x0101)])
    store = command([((0, 2), b"1.2.840.10008.5.1.4.1.1.2"), ((0, 0x100), 0x0001), ((0, 0x110), 2), ((0, 0x700), 0),
                     ((0, 0x800), 0x0000), ((0, 0x1000), b"1.2.826.0.1.3680043.10.1452.500.1.1")])
    data = struct.pack("<HH2sH", 0x0010, 0x0010, b"PN", 10) + b"Seed^Zoe  "
    seeds = {
        "associate-rq.bin": associate(0x01, "HYGIE", "SEEDSCU", proposed),
        "associate-ac.bin": associate(0x02, "HYGIE", "SEEDSCU", accepted),
        "associate-rj.bin": pdu(0x03, bytes([0, 1, 1, 3])),
        "echo.bin": pdata([(1, 0x03, echo)]),
        "store.bin": pdata([(3, 0x03, store)]) + pdata([(3, 0x00, data[:6]), (3, 0x02, data[6:])]),
        "release.bin": pdu(0x05, bytes(4)) + pdu(0x06, bytes(4)),
        "abort.bin": pdu(0x07, bytes([0, 0, 2, 0])),
    }
    for name, contents in seeds.items():
        with open(os.path.join(HERE, "pdu", name), "wb") as handle:
            handle.write(contents)


if __name__ == "__main__":
    part10()
    pdus()
