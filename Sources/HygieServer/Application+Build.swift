import Core
import DIMSE
import Foundation
import FHIR
import FHIRStore
import Hummingbird
import Identity
import Imaging
import Logging
import Pathways
import Scheduling
import ServiceLifecycle
import Storage

/// Hygie's version, announced in the CapabilityStatement.
public let hygieVersion = "0.1.0"

/// Builds the whole server from its configuration: the one way in for `hygie serve` and for
/// every test (STYLE habit 1).
public func buildApplication(
    _ configuration: HygieConfiguration, environment: HygieEnvironment = HygieEnvironment()
) async throws -> some ApplicationProtocol {
    var logger = Logger.hygie("server", level: configuration.logLevel)
    logger.logLevel = configuration.logLevel
    let platform = try await Platform.open(configuration, environment: environment, logger: logger)
    // Before any store: the instances a previous run indexed while their file was still being
    // flushed are checked (after a power loss, a file may not have reached the disk).
    let recovery = try await platform.imaging.recoverUnflushed(before: .max)
    if recovery.dropped > 0 {
        logger.warning("dropped DICOM instances whose file did not reach the disk", metadata: ["instances": "\(recovery.dropped)"])
    }
    if configuration.loadDemoData {
        let loaded = try await DemoData.loadIfEmpty(into: platform.fhir, tenant: configuration.defaultTenant)
        if loaded > 0 { logger.info("loaded demonstration data", metadata: ["resources": "\(loaded)"]) }
    }
    if let created = try await platform.identity.bootstrapSuperAdmin(tenant: configuration.defaultTenant) {
        // Said once, when the account is made; nothing is printed on later starts.
        print(
            """
            Hygie: created the first super admin account "\(created)" with the default password "\(PasswordHasher.defaultPassword)".
            Sign in and choose a new password: nothing else is allowed until you do.
            """)
    }
    if configuration.loadDemoData, try await DemoAccounts.load(into: platform, tenant: configuration.defaultTenant, open: configuration.demoOpen) {
        logger.info("created the demonstration accounts", metadata: ["accounts": "\(DemoAccounts.people.count)"])
    }
    if configuration.demoOpen {
        print(
            """
            Hygie: WARNING — demo accounts are open (--demo-open): they sign in with the default password "\(PasswordHasher.defaultPassword)" \
            and are not made to change it. Never use this mode with real patient data.
            """)
    }
    let router = try await makeRouter(platform: platform, configuration: configuration, environment: environment, logger: logger)
    // Shut down in reverse order: the jobs stop before the store they use closes.
    var services: [any Service] = [platform.store]
    if configuration.slotHorizonInterval > 0 {
        // Keeps published slots `horizon_days` ahead as days pass.
        let scheduling = platform.scheduling
        let tenant = configuration.defaultTenant
        services.append(PeriodicJob(name: "extending slot horizons", interval: configuration.slotHorizonInterval, logger: logger) {
            try await scheduling.extendHorizons(tenant: tenant)
        })
    }
    // Rewrites the ImagingStudy resources and audit records a crash or a failed rewrite left owed.
    let imaging = platform.imaging
    let sweepLogger = logger
    services.append(PeriodicJob(name: "the ImagingStudy sweep", interval: 60, logger: logger) {
        let rewritten = try await imaging.syncStaleStudies()
        if rewritten > 0 { sweepLogger.notice("rewrote ImagingStudy resources behind their index", metadata: ["studies": "\(rewritten)"]) }
    })
    // Deletes the files published for direct download once their URLs have expired.
    if imaging.publishesDownloads {
        services.append(PeriodicJob(name: "the expired-download purge", interval: 60, logger: logger) {
            _ = try await imaging.purgeExpiredDownloads()
        })
    }
    // Reminds the teams of cases waiting more than a day in one stage.
    let pathways = platform.pathways
    let pathwayTenant = configuration.defaultTenant
    services.append(PeriodicJob(name: "the stalled-case reminder", interval: 3600, logger: logger) {
        try await pathways.notifyStalledCases(tenant: pathwayTenant)
    })
    if let port = configuration.dicomPort {
        services.append(
            DICOMNetworkService(server: DIMSEServer(
                host: configuration.host, port: port, provider: platform.dicomNode,
                maximumDataSetLength: platform.imaging.maximumInstanceSize, logger: logger)))
    }
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Hygie"),
        services: services,
        logger: logger)
}

/// Every route and middleware of the server, on an opened platform.
func makeRouter(
    platform: Platform, configuration: HygieConfiguration, environment: HygieEnvironment, logger: Logger
) async throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware(ids: environment.ids, logger: logger))
    router.add(
        middleware: RateLimitMiddleware(
            limiter: RateLimiter(clock: environment.clock), signer: platform.identity.signer, perAccount: configuration.rateLimitPerAccount,
            perAddress: configuration.rateLimitPerAddress))
    HealthController(store: platform.store).addRoutes(to: router)
    let capabilities = CapabilityStatementBuilder(
        baseURL: platform.fhir.baseURL, softwareVersion: hygieVersion,
        releaseDate: FHIRDateTime.instantString(epochMillis: Int64(environment.clock.now().timeIntervalSince1970 * 1000)),
        oauthBase: configuration.resolvedBaseURL + "/oauth2"
    ).build()
    var renderer = try await WebRenderer.load()
    // Download forms redirect to the object store.
    if let endpoint = configuration.s3?.endpoint { renderer.formTargets = [endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint] }
    let resetMail = PasswordResetMail(identity: platform.identity, mailer: environment.mailer(for: configuration), renderer: renderer, logger: logger)
    APIController(
        identity: platform.identity, scheduling: platform.scheduling, records: platform.records, imaging: platform.imaging, pathways: platform.pathways,
        dicomNode: platform.dicomNode,
        viewerLinks: ViewerLinks(publicBaseURL: configuration.resolvedBaseURL, ohifURL: configuration.ohifViewerURL),
        store: platform.fhir, tenant: configuration.defaultTenant, breakGlassDuration: configuration.breakGlassDuration,
        resetMail: resetMail, logger: logger
    ).addRoutes(to: router)
    OAuthController(identity: platform.identity, tenant: configuration.defaultTenant, logger: logger).addRoutes(to: router)
    OpenAPIController(document: try OpenAPIController.load(), renderer: renderer).addRoutes(to: router)
    WebController(
        identity: platform.identity, scheduling: platform.scheduling, records: platform.records, imaging: platform.imaging, pathways: platform.pathways,
        renderer: renderer,
        tenant: configuration.defaultTenant,
        secureCookies: configuration.resolvedBaseURL.hasPrefix("https://"), resetMail: resetMail, logger: logger
    ).addRoutes(to: router)
    FHIRController(
        store: platform.fhir, identity: platform.identity, tenant: configuration.defaultTenant, maximumBodySize: configuration.maxRequestBodySize,
        capabilityStatement: capabilities, logger: logger
    ).addRoutes(to: router)
    DICOMwebController(
        imaging: platform.imaging, identity: platform.identity, tenant: configuration.defaultTenant, corsOrigins: configuration.dicomwebCORSOrigins,
        maximumUploadSize: configuration.dicomMaxUploadSize, publicBaseURL: configuration.resolvedBaseURL, logger: logger
    ).addRoutes(to: router)
    return router
}
