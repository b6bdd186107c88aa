import DICOM

/// A one-instance study for imaging tests: instance `{study}.1.1` of series `{study}.1`, in
/// explicit VR little endian, with what `configure` adds.
func dicomInstance(study: String, patientID: String, sopClass: String = "1.2.840.10008.5.1.4.1.1.2", _ configure: (inout DataSet) -> Void = { _ in }) -> [UInt8] {
    var dataSet = DataSet()
    dataSet.set(.sopClassUID, .UI, sopClass)
    dataSet.set(.sopInstanceUID, .UI, "\(study).1.1")
    dataSet.set(.studyInstanceUID, .UI, study)
    dataSet.set(.seriesInstanceUID, .UI, "\(study).1")
    dataSet.set(.patientID, .LO, patientID)
    configure(&dataSet)
    return DICOMFile(meta: DICOMFile.makeMeta(for: dataSet, syntax: .explicitVRLittleEndian), dataSet: dataSet, transferSyntax: .explicitVRLittleEndian)
        .serialized()
}
