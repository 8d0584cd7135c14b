# syntax=docker/dockerfile:1
# api-router container image.
#   docker build -t api-router:dev .
#   docker run --rm -p 8080:8080 -p 127.0.0.1:9090:9090 api-router:dev   (9090: metrics and admin, keep it local)
#   docker run --rm -p 8080:8080 -e ETCD_ENDPOINTS=http://etcd:2379 api-router:dev
# Without ROUTER_POLICY_FILE or ETCD_ENDPOINTS the gateway runs but answers 503 no_policy (readyz says why);
# ROUTER_DEMO, the bundled demo policy, is deliberately never set in the image.
# Tests are not run here (CI runs them); the build needs only Maven Central.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# whole tree (minus .dockerignore): the pom may package files from outside src/ (routes/, tools/)
COPY . .
# -Dmaven.test.skip: neither compile nor run tests; the Maven repository is a BuildKit cache, kept between builds
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -Dmaven.test.skip=true package \
 && test -s target/api-router.jar

FROM eclipse-temurin:17-jre
# numeric non-root user, so that Kubernetes' runAsNonRoot can verify it (the manifests also set runAsUser 10001)
RUN groupadd --system --gid 10001 apirouter \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin apirouter \
 && mkdir -p /app/data /var/lib/api-router \
 && chown 10001:10001 /app/data /var/lib/api-router
WORKDIR /app
# owned by root, read-only for the app user
COPY --from=build /src/target/api-router.jar /app/api-router.jar
# defaults for `docker run`; Kubernetes sets its own (kubernetes/base/env.properties)
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=60.0 -XX:+ExitOnOutOfMemoryError" \
    ROUTER_DATA_DIR=/var/lib/api-router
USER 10001:10001
# 8080: the API and health; 9090: the management port (metrics, full readiness, admin endpoints)
EXPOSE 8080 9090
# exec form: java is PID 1 and receives SIGTERM itself, so the app's drain runs on `docker stop` / pod deletion.
# Arguments after the image name become the app's arguments: docker run api-router:dev keys list
ENTRYPOINT ["java", "-jar", "/app/api-router.jar"]
