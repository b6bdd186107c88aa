import Logging

extension Logger {
    /// A logger for one component of Hygie. Logs carry ids and counts, never names, dates of
    /// birth, free text or message bodies (DESIGN §6).
    public static func hygie(_ component: String, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "hygie.\(component)")
        logger.logLevel = level
        return logger
    }
}
