import ArgumentParser

@main
struct Hygie: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hygie",
        abstract: "Hygie: the clinical record (FHIR R4) and platform of a hospital group.",
        discussion: """
            Every option can also be set through the environment variable named in its help;
            an option given on the command line wins over the variable.
            """,
        subcommands: [Serve.self, Migrate.self, Reindex.self, SeedDemo.self, RotateKey.self, CreateSuperAdmin.self, RotateSigningKey.self, Audit.self, PACS.self],
        defaultSubcommand: Serve.self)
}
