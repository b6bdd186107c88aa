// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hygie",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hygie", targets: ["hygie"]),
        .executable(name: "hygie-bench", targets: ["HygieBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/vapor/sql-kit.git", exact: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", exact: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", exact: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", exact: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
    ],
    targets: [
        .target(
            name: "Core",
            dependencies: ["CAllocator", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                "Core",
                "CSQLiteSettings",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FHIR",
            dependencies: ["Core"],
            resources: [.copy("Definitions/r4-elements.txt"), .copy("Definitions/r4-search-parameters.txt")],
            swiftSettings: strictSettings
        ),
        .target(name: "CSQLiteSettings", path: "Sources/CSQLiteSettings"),
        .target(name: "CAllocator", path: "Sources/CAllocator"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        .target(
            name: "DICOM",
            dependencies: ["CZlib", "CJPEG"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "DIMSE",
            dependencies: [
                "DICOM",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SyntheticData",
            dependencies: ["FHIR"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FHIRStore",
            dependencies: [
                "Core", "Storage", "FHIR",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Mail",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Access",
            dependencies: ["Core", "FHIR", "FHIRStore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Identity",
            dependencies: [
                "Core", "Storage", "FHIR", "FHIRStore", "Access", "Mail",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Scheduling",
            dependencies: [
                "Core", "Storage", "FHIR", "FHIRStore", "Access",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Records",
            dependencies: ["Core", "FHIR", "FHIRStore", "Access", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Imaging",
            dependencies: [
                "Core", "Storage", "FHIR", "FHIRStore", "DICOM",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "PDF", swiftSettings: strictSettings),
        .target(
            name: "Pathways",
            dependencies: [
                "Core", "Storage", "FHIR", "FHIRStore", "Access", "PDF",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HygieServer",
            dependencies: [
                "Core", "Storage", "FHIR", "FHIRStore", "SyntheticData", "Access", "Identity", "Mail", "Scheduling", "Records", "DICOM", "DIMSE", "Imaging", "Pathways",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Web/Templates"), .copy("Web/Static"), .copy("Web/Localization"), .copy("API/OpenAPI")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "hygie",
            dependencies: [
                "Core", "Storage", "FHIRStore", "HygieServer", "Identity", "Access", "DICOM", "DIMSE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "HygieBench",
            dependencies: [
                "FHIR", "SyntheticData",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/Sources/HygieBench",
            swiftSettings: strictSettings
        ),
        // Fuzz targets (Fuzz/README.md): libFuzzer drives them when built by Fuzz/run; built as
        // usual they replay the inputs they are given.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/Support", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzPart10", dependencies: ["DICOM", "FuzzSupport"], path: "Fuzz/Part10", swiftSettings: strictSettings),
        .executableTarget(
            name: "FuzzPDU",
            dependencies: [
                "DICOM", "DIMSE", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Fuzz/PDU",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "CoreTests", dependencies: ["Core"], swiftSettings: strictSettings),
        .testTarget(
            name: "DICOMTests",
            dependencies: ["DICOM", "DIMSE", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strictSettings),
        .testTarget(name: "FHIRTests", dependencies: ["FHIR", "Core"], swiftSettings: strictSettings),
        .testTarget(name: "PathwaysTests", dependencies: ["Pathways", "Access"], swiftSettings: strictSettings),
        .testTarget(name: "PDFTests", dependencies: ["PDF"], swiftSettings: strictSettings),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "Core", .product(name: "SQLKit", package: "sql-kit"), .product(name: "Logging", package: "swift-log"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HygieServerTests",
            dependencies: [
                "HygieServer", "FHIRStore", "FHIR", "Storage", "Core", "SyntheticData", "Access", "Identity", "Mail", "Scheduling", "Records", "DICOM", "Imaging", "Pathways",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
