import QuarryCLI
import QuarryServer

QuarryCommand.plugins = [ServeCommand.self]
QuarryCommand.mainExit()
