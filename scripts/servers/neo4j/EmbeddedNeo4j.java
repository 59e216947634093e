import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * A single Neo4j community database, embedded, serving Bolt on HOST:PORT for eventlens tests.
 *
 * <p>Usage: {@code java -cp 'libs/*:classes' EmbeddedNeo4j DATA_DIR HOST PORT PID_FILE}. Auth is off
 * and the HTTP connector is not started. The pid file is written once Bolt listens, and the process
 * shuts the database down cleanly on SIGTERM (a JVM shutdown hook), then exits.
 */
public final class EmbeddedNeo4j {
    private EmbeddedNeo4j() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length != 4) {
            System.err.println("usage: EmbeddedNeo4j DATA_DIR HOST PORT PID_FILE");
            System.exit(2);
        }
        Path dataDir = Path.of(args[0]).toAbsolutePath();
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        Path pidFile = Path.of(args[3]);

        DatabaseManagementService service = new DatabaseManagementServiceBuilder(dataDir)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                // Small page cache and transaction logs: a test database, not a production one.
                .setConfig(GraphDatabaseSettings.pagecache_memory, 64L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.shutdown();
            } finally {
                stopped.countDown();
            }
        }, "neo4j-shutdown"));

        // The default database is up once build() returns; say so for the script's log.
        service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
        System.out.println("EmbeddedNeo4j ready: bolt://" + host + ":" + port + " data " + dataDir);
        stopped.await();
    }
}
